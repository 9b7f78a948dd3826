"""``ActionApi``: GET/POST against one MediaWiki ``api.php`` with the polite defaults.

Every request gets ``format=json&formatversion=2`` (Wikibase keeps its own fv1-style fields such
as ``success: 1`` and ``missing: ""``; test for key presence). Writes get ``maxlag=5`` and
``assert=user`` (so a lost login can never turn into an anonymous edit). GETs are retried on
``maxlag`` after Retry-After (bounded); POSTs are never retried here: the caller classifies the
raised error with ``likeness.wiki.errors.classify`` and decides.

Continued queries go through ``mwapi.Session`` (its continuation protocol) on our own requests
session. mwapi raises ``APIError`` from the body alone, so every answer passes through
``_exchange`` first, which turns an error into our typed ``WikiError`` with the HTTP status and
the ``Retry-After``/``MediaWiki-API-Error`` headers the retry policy needs; mwapi only ever sees
successful answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import mwapi
import mwapi.errors
import requests
import urllib3.exceptions

from likeness.wiki.errors import (
    MAXLAG_DEFAULT_WAIT,
    ApiError,
    ResponseFormatError,
    TransportError,
    WikiError,
    parse_retry_after,
)
from likeness.wiki.http import WikiSession

log = logging.getLogger(__name__)

Params = Mapping[str, Any]


def encode_params(params: Params) -> dict[str, str]:
    """MediaWiki parameter values: lists joined with ``|``, True -> "1", False/None dropped."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None or value is False:
            continue
        if value is True:
            out[key] = "1"
        elif isinstance(value, list | tuple | set | frozenset):
            out[key] = "|".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


class ActionApi:
    """One wiki's Action API (``https://commons.wikimedia.org/w/api.php`` or a stand-in)."""

    def __init__(
        self,
        api_url: str,
        session: WikiSession | requests.Session,
        *,
        write_maxlag: int = 5,
        read_maxlag: int | None = None,
        maxlag_retries: int = 3,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url
        self.session = session
        parts = urlsplit(api_url)
        # mwapi sends through _MwapiTransport, which adds our error handling to our session.
        self._mwapi = mwapi.Session(f"{parts.scheme}://{parts.netloc}", api_path=parts.path,
                                    user_agent=session.headers.get("User-Agent"),
                                    session=_MwapiTransport(self))
        self.write_maxlag = write_maxlag
        self.read_maxlag = read_maxlag      # the worker sets 5 so crawls back off under lag
        self.maxlag_retries = maxlag_retries
        self.max_wait = max_wait
        self._sleep = sleep

    @property
    def authenticated(self) -> bool:
        return str(self.session.headers.get("Authorization", "")).startswith("Bearer ")

    # ---- requests --------------------------------------------------------------------------

    def get(self, params: Params) -> dict[str, Any]:
        """A read. Retries on ``maxlag`` (waiting Retry-After, at most ``max_wait``)."""
        return self._exchange("GET", self._read_params(params))

    def post(self, params: Params, *, write: bool = True) -> dict[str, Any]:
        """A POST, sent exactly once. ``write=True`` adds ``maxlag`` and ``assert=user``."""
        form = self._with_defaults(params)
        if write:
            form.setdefault("maxlag", str(self.write_maxlag))
            form.setdefault("assert", "user")
        return self._exchange("POST", form)

    def continued(self, params: Params) -> Iterator[dict[str, Any]]:
        """Yield every answer of a continued query, by mwapi's continuation.

        mwapi merges each ``continue`` object into the request and keeps earlier keys: right
        for list modules and for prop modules over a fixed set of pages (every use here), not
        for a generator combined with a prop module, whose stale ``iicontinue`` would skip
        pages of the next batch; this client has no such query."""
        answers = self._mwapi.get(continuation=True, **self._read_params(params))
        while True:
            try:
                yield next(answers)
            except StopIteration:
                return
            except mwapi.errors.RequestError as exc:
                # Our typed error, raised inside the transport and wrapped by mwapi.
                if isinstance(exc.__cause__, WikiError):
                    raise exc.__cause__ from None
                raise

    # ---- internals -------------------------------------------------------------------------

    def _with_defaults(self, params: Params) -> dict[str, str]:
        out = encode_params(params)
        out.setdefault("format", "json")
        out.setdefault("formatversion", "2")
        return out

    def _read_params(self, params: Params) -> dict[str, str]:
        query = self._with_defaults(params)
        if self.read_maxlag is not None and "maxlag" not in query:
            query["maxlag"] = str(self.read_maxlag)
        return query

    def _exchange(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        """The decoded answer. Sent once (a GET again after maxlag, bounded); any error
        raises a typed WikiError."""
        for attempt in range(self.maxlag_retries + 1 if method == "GET" else 1):
            try:
                return _decode(method, self._send(method, params))
            except ApiError as err:
                if err.code != "maxlag" or attempt == self.maxlag_retries or method != "GET":
                    raise
                wait = min(err.retry_after if err.retry_after is not None
                           else MAXLAG_DEFAULT_WAIT, self.max_wait)
                log.info("wiki.maxlag_wait", extra={"wait": wait, "lag": err.lag})
                self._sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt

    def _send(self, method: str, params: dict[str, str]) -> requests.Response:
        try:
            if method == "GET":
                return self.session.get(self.api_url, params=params)
            return self.session.post(self.api_url, data=params)
        except requests.exceptions.RequestException as exc:
            raise TransportError(method, self.api_url, _describe(exc),
                                 maybe_applied=method == "POST" and _may_have_arrived(exc),
                                 ) from exc


class _MwapiTransport:
    """The object mwapi sends with: our session through ``ActionApi._exchange``. mwapi's own
    headers, timeout and flags are dropped: the session sets User-Agent, token and timeout."""

    def __init__(self, api: ActionApi) -> None:
        self.api = api

    def request(self, method: str, url: str, params: dict[str, str] | None = None,
                data: dict[str, str] | None = None, **_mwapi_options: Any) -> _Answer:
        return _Answer(self.api._exchange(method.upper(), (params if data is None else data) or {}))


@dataclass(frozen=True)
class _Answer:
    """A decoded answer, shaped as the response mwapi reads."""

    body: dict[str, Any]

    def json(self) -> dict[str, Any]:
        return self.body


def _decode(method: str, resp: requests.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if resp.status_code >= 400:
            raise ApiError(f"http-{resp.status_code}", resp.reason or "",
                           parse_retry_after(resp.headers.get("Retry-After")),
                           http_status=resp.status_code)
        raise ResponseFormatError(
            f"{method} {resp.url}: not a JSON object (HTTP {resp.status_code}): "
            f"{resp.text[:200]!r}", method=method)
    err = ApiError.from_body(body, resp.headers, resp.status_code)
    if err is None and resp.status_code >= 400:
        err = ApiError(f"http-{resp.status_code}", resp.reason or "",
                       parse_retry_after(resp.headers.get("Retry-After")),
                       http_status=resp.status_code)
    if err is not None:
        raise err
    if "warnings" in body:
        log.warning("wiki.api_warnings", extra={"warnings": body["warnings"]})
    return body


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _may_have_arrived(exc: requests.exceptions.RequestException) -> bool:
    """False only when the connection was never made (the POST cannot have been applied)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", exc.args[0])
        if isinstance(reason, urllib3.exceptions.NewConnectionError):
            return False
    return True
