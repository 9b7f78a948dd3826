"""One Action API request: merged parameters, the caller, and JSON output rules (formatversion,
errorformat, ASCII escaping) shared by every module."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from standin.actionapi.errors import ApiError, toomanyvalues
from standin.catalog import CatalogUser
from standin.state import World
from standin.tokens import AccessGrant

SERVEDBY = "mw-standin.local"
ANNOUNCE = ("Subscribe to the mediawiki-api-announce mailing list at &lt;https://lists.wikimedia."
            "org/postorius/lists/mediawiki-api-announce.lists.wikimedia.org/&gt; for notice of "
            "API deprecations and breaking changes.")


@dataclass
class Urls:
    """Where each host lives, e.g. base ``http://127.0.0.1:8765``."""

    base: str

    def api(self, site: str) -> str:
        return f"{self.base}/{site}/w/api.php"

    def wiki(self, site: str) -> str:
        return f"{self.base}/{site}/wiki/"

    def index(self, site: str) -> str:
        return f"{self.base}/{site}/w/index.php"

    @property
    def upload(self) -> str:
        return f"{self.base}/upload"

    @property
    def oauth(self) -> str:
        return f"{self.base}/meta/w/rest.php"


@dataclass
class ApiContext:
    site: str
    world: World
    urls: Urls
    request: Request
    params: dict[str, str]
    user: CatalogUser | None = None
    grant: AccessGrant | None = None
    access_token: str | None = None
    warnings: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, site: str, world: World, urls: Urls, request: Request) -> ApiContext:
        params = dict(request.args.items())
        params.update(request.form.items())  # MediaWiki: POST values win over the query string
        return cls(site=site, world=world, urls=urls, request=request, params=params)

    # -- parameters ---------------------------------------------------------------------------
    @property
    def fv(self) -> int:
        return 2 if self.params.get("formatversion") in ("2", "latest") else 1

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)

    def has(self, name: str) -> bool:
        """MediaWiki booleans are true when present, whatever the value."""
        return name in self.params

    def multi(self, name: str, limit: int | None = 50) -> list[str]:
        raw = self.params.get(name)
        if raw is None or raw == "":
            return []
        values = raw[1:].split("\x1f") if raw.startswith("\x1f") else raw.split("|")
        if limit is not None and len(values) > limit:
            raise toomanyvalues(name, limit)
        return values

    def limit(self, name: str, default: int = 10, maximum: int = 500) -> int:
        raw = self.params.get(name)
        if raw is None:
            return default
        if raw == "max":
            return maximum
        try:
            value = int(raw)
        except ValueError:
            raise ApiError("badinteger",
                           f'Invalid value "{raw}" for integer parameter "{name}".') from None
        if value > maximum:
            self.warn("main", f'{name} may not be over {maximum} (set to {value}) for users.')
        return max(1, min(value, maximum))

    def flag(self) -> Any:
        """A boolean flag as the chosen formatversion writes it."""
        return True if self.fv == 2 else ""

    def warn(self, module: str, text: str) -> None:
        self.warnings.setdefault(module, []).append(text)

    @property
    def user_name(self) -> str:
        return self.user.name if self.user else (self.request.remote_addr or "127.0.0.1")

    # -- output -------------------------------------------------------------------------------
    def respond(self, body: dict[str, Any]) -> Response:
        if self.warnings:
            warnings = {m: ({"warnings": "\n".join(t)} if self.fv == 2 else {"*": "\n".join(t)})
                        for m, t in self.warnings.items()}
            body = {"warnings": warnings, **body}
        return self._json(body, {})

    def error(self, err: ApiError) -> Response:
        docref = f"See {self.urls.api(self.site)} for API usage. {ANNOUNCE}"
        fmt = self.params.get("errorformat", "bc")
        if fmt == "bc":
            inner: dict[str, Any] = {"code": err.code, "info": err.info}
            if err.messages:
                inner["messages"] = err.messages
            inner.update(err.extra)
            inner["*"] = docref
            body: dict[str, Any] = {"error": inner, "servedby": SERVEDBY}
        else:
            entry: dict[str, Any] = {"code": err.code}
            entry["html" if fmt == "html" else "text"] = err.info
            data = dict(err.extra)
            if err.messages:
                data["messages"] = [
                    {**m, "html": m["html"]["*"]} if self.fv == 2 else m for m in err.messages
                ]
            if data:
                entry["data"] = data
            entry["module"] = "main"
            body = {"errors": [entry], "docref": docref, "servedby": SERVEDBY}
        headers = {"MediaWiki-API-Error": err.code, **err.headers}
        return self._json(body, headers, err.status)

    def _json(self, body: dict[str, Any], headers: dict[str, str], status: int = 200) -> Response:
        ascii_only = self.fv == 1 and not self.has("utf8")
        text = json.dumps(body, ensure_ascii=ascii_only, separators=(",", ":"))
        resp = Response(text, status=status, content_type="application/json; charset=utf-8")
        resp.headers["Cache-Control"] = "private, must-revalidate, max-age=0"
        resp.headers["Server"] = "standin"
        for k, v in headers.items():
            resp.headers[k] = v
        return resp
