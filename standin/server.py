"""The stand-in server: one WSGI app serving every host by path prefix, run on a free port in a
background thread (``StandIn.start``) or in the foreground by ``python -m standin``.

    {base}/commons/w/api.php      Commons Action API (MediaInfo, categories, imageinfo, search)
    {base}/wikidata/w/api.php     Wikidata Action API (items, properties)
    {base}/meta/w/rest.php/oauth2/{authorize,access_token,resource/profile,resource/scopes}
    {base}/upload/wikipedia/commons/...   originals and thumbnails
    {base}/_standin/...           control API (see control.py)
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import quote

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from standin import control, oauth, upload
from standin.actionapi import main as actionapi
from standin.actionapi.context import ApiContext, Urls
from standin.actionapi.entities import serialize
from standin.actionapi.errors import by_code
from standin.actionapi.imageinfo import description_url, original_url, thumb_fields
from standin.catalog import Catalog, CatalogFile, image_facts, stable_id
from standin.faults import Fault, FaultRegistry, corrupt
from standin.naming import normalize_title
from standin.state import World, iso_now

ROUTES = {
    "meta/w/rest.php/oauth2/authorize": ("meta.authorize", oauth.authorize),
    "meta/w/rest.php/oauth2/access_token": ("meta.access_token", None),
    "meta/w/rest.php/oauth2/resource/profile": ("meta.profile", None),
    "meta/w/rest.php/oauth2/resource/scopes": ("meta.scopes", None),
}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # the request log is ours
        pass


class StandIn:
    """A running stand-in. Use ``start()``/``stop()`` or ``with StandIn(catalog) as s:``."""

    def __init__(self, catalog: Catalog, host: str = "127.0.0.1", port: int = 0) -> None:
        self.catalog = catalog
        self.world = World(catalog)
        self.faults = FaultRegistry()
        self.thumbs = upload.ThumbCache()
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def bind(self) -> StandIn:
        self._server = make_server(self.host, self.port, self.wsgi, threaded=True,
                                   request_handler=_QuietHandler)
        self.port = self._server.server_port
        return self

    def start(self) -> StandIn:
        if self._server is None:
            self.bind()
        assert self._server is not None
        self._thread = threading.Thread(target=self._server.serve_forever, name="standin",
                                        daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        if self._server is None:
            self.bind()
        assert self._server is not None
        self._server.serve_forever()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses and configuration for the tool ---------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def urls(self) -> Urls:
        return Urls(self.base_url)

    @property
    def client(self) -> Any:
        return self.catalog.clients[0]

    def config_overrides(self) -> dict[str, Any]:
        """The nested mapping for ``likeness.config.load_config(overrides=...)``."""
        u = self.urls
        return {
            "wiki": {"commons_api": u.api("commons"), "wikidata_api": u.api("wikidata"),
                     "oauth_base": u.oauth, "upload_host": u.upload,
                     "commons_wiki": u.wiki("commons"), "wikidata_wiki": u.wiki("wikidata")},
            "oauth": {"client_id": self.client.client_id,
                      "client_secret": self.client.client_secret},
        }

    def env(self) -> dict[str, str]:
        """The same as ``TOOL_*`` environment variables (nested keys joined by ``__``)."""
        out = {}
        for section, values in self.config_overrides().items():
            for key, value in values.items():
                out[f"TOOL_{section.upper()}__{key.upper()}"] = str(value)
        return out

    # -- conveniences for tests (the control API calls the same methods) ------------------------
    def reset(self) -> None:
        self.faults.clear()
        self.world.reset()

    def fault(self, route: str, kind: str, times: int | None = 1, **spec: Any) -> Fault:
        return self.faults.add(route=route, kind=kind, times=times, **spec)

    def configure(self, **settings: Any) -> None:
        known = {f.name for f in fields(self.world.settings)}
        unknown = set(settings) - known
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}")
        for key, value in settings.items():
            setattr(self.world.settings, key, value)

    def set_next_user(self, user: str | None, deny: bool = False) -> None:
        if user is not None and user not in self.world.users:
            raise ValueError(f"no such user {user!r}")
        self.world.settings.oauth_default_user = user
        self.world.settings.oauth_deny = deny

    def issue_tokens(self, user: str, grants: list[str] | None = None) -> dict[str, Any]:
        """Tokens as if ``user`` had logged in through the browser flow."""
        u = self.world.users[user]
        ttl = self.world.settings.token_ttl
        access, refresh = self.world.oauth.issue(u.name, u.central_id, self.client.client_id,
                                                 grants or list(self.client.grants),
                                                 self.world.now(), ttl)
        return {"token_type": "Bearer", "expires_in": ttl, "access_token": access,
                "refresh_token": refresh}

    def issue_token(self, user: str, grants: list[str] | None = None) -> str:
        """An access token for ``user``, for tests that skip the browser dance."""
        return self.issue_tokens(user, grants)["access_token"]

    def requests_log(self, route: str | None = None, action: str | None = None,
                     method: str | None = None, since: int = 0,
                     **params: str) -> list[dict[str, Any]]:
        """Logged requests, oldest first; ``route`` matches a prefix (``commons``, ``upload``),
        extra keywords must equal request parameters (``list="categorymembers"``)."""
        with self.world.lock:
            rows = list(self.world.requests)
        out = []
        for r in rows:
            if r["seq"] <= since or (method and r["method"] != method.upper()):
                continue
            if route and r["route"] != route and not r["route"].startswith(route + "."):
                continue
            if action and r["action"] != action:
                continue
            if any(r["params"].get(k) != v for k, v in params.items()):
                continue
            out.append(r)
        return out

    def edits(self, entity: str | None = None, user: str | None = None,
              action: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        """The edit log, oldest first, optionally filtered."""
        with self.world.lock:
            rows = list(self.world.edits)
        return [e for e in rows if e["seq"] > since and (entity is None or e["entity"] == entity)
                and (user is None or e["user"] == user)
                and (action is None or e["action"] == action)]

    def expire_tokens(self, user: str | None = None) -> int:
        return self.world.oauth.expire_user(user)

    def advance_clock(self, seconds: float) -> None:
        self.world.clock_offset += seconds

    def rotate_csrf(self) -> None:
        self.world.csrf_epoch += 1

    def csrf_token(self, user: str | None) -> str:
        return actionapi.csrf_token(self.world, user)

    def entity(self, entity_id: str) -> dict[str, Any]:
        with self.world.lock:
            ent = self.world.entity(entity_id)
            if ent is None or not ent.exists:
                return {"id": entity_id, "missing": ""}
            return serialize(ent)

    def add_file(self, path: str | Path, title: str, categories: list[str],
                 sdc: dict[str, Any] | None = None) -> CatalogFile:
        path = Path(path).resolve()
        facts = image_facts(path)
        canonical = normalize_title(title)[1]
        taken = set(self.world.files) | {c.pageid for c in self.world.categories.values()}
        pageid = stable_id("file", canonical, taken, 60_000_000)
        f = CatalogFile(title=canonical, pageid=pageid, path=str(path), width=facts["width"],
                        height=facts["height"], size=facts["size"], mime=facts["mime"],
                        sha1=facts["sha1"], timestamp=iso_now(self.world.now()),
                        revid=500_000_000 + pageid % 300_000_000, categories=list(categories),
                        sdc=sdc)
        self.world.add_file(f)
        return f

    def reupload(self, title: str, path: str | Path) -> Any:
        """Upload a new version of an existing file: the same page with another image."""
        path = Path(path).resolve()
        return self.world.reupload(title, path, image_facts(path))

    def protect(self, title: str, level: str) -> Any:
        """Edit-protect a file page ("autoconfirmed", "sysop"; "" lifts the protection)."""
        return self.world.protect(title, level)

    def summary(self) -> dict[str, Any]:
        c = self.catalog
        return {
            "people": [{"name": p.name, "qid": p.qid, "category": p.category, "p18": p.p18,
                        "files": len(p.files)} for p in c.people],
            "categories": [x.title for x in c.categories],
            "users": [u.name for u in c.users],
            "files": len(self.world.files),
            "client_id": self.client.client_id,
        }

    # -- WSGI ------------------------------------------------------------------------------------
    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        path = request.path.lstrip("/")
        if path.startswith("_standin/"):
            return control.handle(self, request, path[len("_standin/"):])(environ, start_response)
        started = time.monotonic()
        route = _route_name(path)
        params = dict(request.args.items())
        if request.method == "POST":
            params.update(request.form.items())
        fault = self.faults.pick(route, request.method, params, path)
        entry: dict[str, Any] = {
            "time": time.time(), "route": route, "method": request.method, "path": "/" + path,
            "params": params, "action": params.get("action"),
            "user_agent": request.headers.get("User-Agent", ""),
            "authorization": _redact(request.headers.get("Authorization")),
            "fault": fault.kind if fault else None,
        }
        response, user = self._answer(request, path, route, fault)
        entry.update({"status": response.status_code, "user": user,
                      "error": response.headers.get("MediaWiki-API-Error"),
                      "duration": round(time.monotonic() - started, 4)})
        self.world.log_request(entry)
        if fault and fault.kind == "drop":
            return _drop(environ, start_response)
        if fault and fault.kind in ("truncate", "corrupt"):
            return _damage(response, fault, environ, start_response)
        return response(environ, start_response)

    def _answer(self, request: Request, path: str, route: str,
                fault: Fault | None) -> tuple[Response, str | None]:
        if fault is not None:
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind in ("error", "maxlag"):
                return self._api_fault(request, route, fault), None
            elif fault.kind == "http":
                return _http_fault(fault), None
            elif fault.kind == "drop":
                return Response(status=499), None
        return self._dispatch(request, path, route)

    def _api_fault(self, request: Request, route: str, fault: Fault) -> Response:
        site = route.split(".", 1)[0]
        ctx = ApiContext.build(site if site in ("commons", "wikidata") else "commons",
                               self.world, self.urls, request)
        if fault.kind == "maxlag":
            err = by_code("maxlag", lag=fault.lag, maxlag=ctx.get("maxlag") or 5,
                          lag_type=fault.lag_type)
        else:
            err = by_code(fault.code or "internal_api_error", info=fault.info or "")
            if fault.info:
                err.info = fault.info
        return ctx.error(err)

    def _dispatch(self, request: Request, path: str, route: str) -> tuple[Response, str | None]:
        w, u = self.world, self.urls
        if route in ("commons.api", "wikidata.api"):
            resp, ctx = actionapi.handle(route.split(".")[0], w, u, request)
            return resp, ctx.user.name if ctx.user else None
        if route == "meta.authorize":
            return oauth.authorize(w, u, request), None
        if route == "meta.approve":
            return oauth.approve(w, u, request), None
        if route == "meta.access_token" and request.method == "POST":
            return oauth.access_token(w, request), None
        if route in ("meta.profile", "meta.scopes"):
            handler = oauth.profile if route == "meta.profile" else oauth.scopes
            return handler(w, request), _bearer_user(w, request)
        if route.startswith("upload."):
            resp, _ = upload.serve(w, self.thumbs, path[len("upload/wikipedia/commons/"):])
            return resp, None
        if route == "commons.wiki":
            return self._wiki_page(request, path[len("commons/wiki/"):]), None
        if route == "commons.index":
            curid = request.args.get("curid", "")
            page = w.files.get(int(curid)) if curid.isdigit() else None
            if page is None:
                return Response("No such page", status=404), None
            return _redirect(description_url(u, page.title)), None
        if route == "root":
            return Response(_index_html(self), content_type="text/html; charset=utf-8"), None
        return Response("Not found in the stand-in", status=404), None

    def _wiki_page(self, request: Request, title: str) -> Response:
        if title.startswith("Special:FilePath/"):
            page = self.world.file_by_title("File:" + title.split("/", 1)[1])
            if page is None:
                return Response("No such file", status=404)
            width = request.args.get("width", "")
            if width.isdigit():
                return _redirect(thumb_fields_url(self, page, int(width)))
            return _redirect(original_url(self.urls, page))
        page = self.world.file_by_title(title)
        if page is None:
            return Response("This page does not exist in the stand-in.", status=404)
        img = original_url(self.urls, page)
        return Response(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{page.title}"
                        f"</title></head><body><h1>{page.title}</h1><img src='{img}' "
                        f"style='max-width:800px'></body></html>",
                        content_type="text/html; charset=utf-8")


def thumb_fields_url(standin: StandIn, page: Any, width: int) -> str:
    ctx = ApiContext.build("commons", standin.world, standin.urls, Request.from_values("/"))
    return thumb_fields(ctx, page, width, None)["thumburl"]


def _route_name(path: str) -> str:
    if path in ("", "index.html"):
        return "root"
    for site in ("commons", "wikidata"):
        if path == f"{site}/w/api.php":
            return f"{site}.api"
    if path.startswith("commons/wiki/"):
        return "commons.wiki"
    if path == "commons/w/index.php":
        return "commons.index"
    if path == "meta/w/index.php":
        return "meta.approve"
    if path in ROUTES:
        return ROUTES[path][0]
    if path.startswith("upload/wikipedia/commons/thumb/"):
        return "upload.thumb"
    if path.startswith("upload/"):
        return "upload.original"
    return "other"


def _bearer_user(world: World, request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    grant = world.oauth.valid_access(header[7:].strip(), world.now()) if header else None
    return grant.user if grant else None


def _redact(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return f"{scheme} …{token[-6:]}" if token else scheme


def _redirect(location: str) -> Response:
    resp = Response(status=302)
    resp.headers["Location"] = location
    return resp


def _http_fault(fault: Fault) -> Response:
    import json

    if fault.body is None:
        text, ctype = f"<html><body><h1>{fault.status}</h1></body></html>", "text/html"
    elif isinstance(fault.body, str):
        text, ctype = fault.body, "text/plain; charset=utf-8"
    else:
        text, ctype = json.dumps(fault.body), "application/json"
    resp = Response(text, status=fault.status, content_type=ctype)
    if fault.retry_after is not None:
        resp.headers["Retry-After"] = str(fault.retry_after)
    return resp


def _drop(environ: dict[str, Any], start_response: Any) -> Any:
    """Close the connection without sending a status line."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError("standin: dropped connection (fault injection)")


def _damage(response: Response, fault: Fault, environ: dict[str, Any], start_response: Any) -> Any:
    body = response.get_data()
    if fault.kind == "corrupt":
        data, ctype = corrupt(body, fault.how)
        damaged = Response(data, status=response.status_code,
                           content_type=ctype or response.content_type)
        return damaged(environ, start_response)
    cut = body[:int(len(body) * fault.keep)]
    if not fault.declare_full:
        return Response(cut, status=response.status_code,
                        content_type=response.content_type)(environ, start_response)
    headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(body))))
    headers.append(("Connection", "close"))
    start_response(response.status, headers)
    sock = environ.get("werkzeug.socket")

    def stream() -> Any:
        yield cut
        if sock is not None:  # end the response early: the client sees a short read
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    return stream()


def _index_html(standin: StandIn) -> str:
    u = standin.urls
    cats = "".join(
        f"<li><a href='{u.wiki('commons')}{quote(c.title.replace(' ', '_'))}'>{c.title}</a></li>"
        for c in standin.catalog.categories)
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Likeness stand-in</title>"
            f"</head><body><h1>Likeness stand-in for Wikimedia</h1><ul><li>Commons API: "
            f"{u.api('commons')}</li><li>Wikidata API: {u.api('wikidata')}</li><li>OAuth: "
            f"{u.oauth}/oauth2/</li><li>Uploads: {u.upload}/</li></ul><h2>Categories</h2>"
            f"<ul>{cats}</ul></body></html>")
