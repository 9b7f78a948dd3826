"""``/_standin/...``: the control API, so tests running the tool in other processes (gunicorn,
the worker) can set faults, read the logs and reset state over HTTP."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from standin.server import StandIn


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    content_type="application/json; charset=utf-8")


def _filter(rows: list[dict[str, Any]], args: dict[str, str]) -> list[dict[str, Any]]:
    since = int(args.pop("since", "0") or 0)
    out = [r for r in rows if r.get("seq", 0) > since]
    for key, value in args.items():
        out = [r for r in out if str(r.get(key)) == value]
    return out


def handle(standin: StandIn, request: Request, path: str) -> Response:
    """Dispatch one control request; ``path`` is the part after ``/_standin/``."""
    body: dict[str, Any] = {}
    raw = request.get_data()  # raw even when a client labels JSON as a form (curl -d)
    if request.method in ("POST", "PUT") and raw:
        try:
            body = json.loads(raw)
        except ValueError:
            return _json({"error": "body must be JSON"}, 400)
    world = standin.world
    try:
        if path == "health":
            return _json({"ok": True, "base": standin.base_url})
        if path == "reset" and request.method == "POST":
            standin.reset()
            return _json({"ok": True})
        if path == "faults":
            if request.method == "POST":
                return _json(standin.faults.add(**body).to_json(), 201)
            if request.method == "DELETE":
                standin.faults.clear()
                return _json({"ok": True})
            return _json([f.to_json() for f in standin.faults.list()])
        if path.startswith("faults/") and request.method == "DELETE":
            standin.faults.clear(int(path.split("/", 1)[1]))
            return _json({"ok": True})
        if path == "requests":
            args = request.args.to_dict()
            return _json(standin.requests_log(
                route=args.pop("route", None), action=args.pop("action", None),
                method=args.pop("method", None), since=int(args.pop("since", "0") or 0), **args))
        if path == "edits":
            return _json(_filter(list(world.edits), request.args.to_dict()))
        if path.startswith("entity/"):
            return _json(standin.entity(path.split("/", 1)[1]))
        if path == "oauth/next-user" and request.method == "POST":
            standin.set_next_user(body.get("user"), deny=bool(body.get("deny")))
            return _json({"ok": True})
        if path == "oauth/issue" and request.method == "POST":
            return _json(standin.issue_tokens(body["user"], body.get("grants")))
        if path == "oauth/expire" and request.method == "POST":
            return _json({"expired": standin.expire_tokens(body.get("user"))})
        if path == "oauth/revoke" and request.method == "POST":
            return _json({"revoked": world.oauth.revoke_user(body["user"])})
        if path == "csrf/rotate" and request.method == "POST":
            standin.rotate_csrf()
            return _json({"ok": True})
        if path == "clock" and request.method == "POST":
            standin.advance_clock(float(body.get("advance", 0)))
            return _json({"offset": world.clock_offset})
        if path == "settings":
            if request.method == "POST":
                standin.configure(**body)
            return _json({f.name: getattr(world.settings, f.name)
                          for f in fields(world.settings)})
        if path == "search/freeze" and request.method == "POST":
            world.freeze_search()
            return _json({"ok": True})
        if path == "search/thaw" and request.method == "POST":
            world.thaw_search()
            return _json({"ok": True})
        if path == "files" and request.method == "POST":
            f = standin.add_file(body["path"], body["title"], body.get("categories", []),
                                 body.get("sdc"))
            return _json({"title": f.title, "pageid": f.pageid}, 201)
        if path == "files/reupload" and request.method == "POST":
            page = standin.reupload(body["title"], body["path"])
            return _json({"title": page.title, "pageid": page.pageid, "sha1": page.sha1})
        if path == "protect" and request.method == "POST":
            page = standin.protect(body["title"], body.get("level", "sysop"))
            return _json({"title": page.title, "pageid": page.pageid,
                          "level": body.get("level", "sysop")})
        if path == "catalog":
            return _json(standin.summary())
    except (KeyError, ValueError, TypeError) as err:
        return _json({"error": str(err)}, 400)
    return _json({"error": f"no control route {request.method} /_standin/{path}"}, 404)
