"""``ActionApi``: GET/POST against one MediaWiki ``api.php`` with the polite defaults.

Every request gets ``format=json&formatversion=2`` (Wikibase keeps its own fv1-style fields such
as ``success: 1`` and ``missing: ""``; test for key presence). Writes get ``maxlag=5`` and
``assert=user`` (so a lost login can never turn into an anonymous edit). GETs are retried on
``maxlag`` after Retry-After (bounded); POSTs are never retried here: the caller classifies the
raised error with ``likeness.wiki.errors.classify`` and decides.

Why not ``mwapi.Session``: it raises ``APIError`` from the body alone, dropping the HTTP status
and the ``Retry-After`` / ``MediaWiki-API-Error`` headers that the retry policy needs; it does not
read the ``errors`` list of ``errorformat=plaintext``; and it wraps ``requests`` anyway. Plain
``requests`` through ``WikiSession`` is shorter than working around those gaps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests
import urllib3.exceptions

from likeness.wiki.errors import (
    MAXLAG_DEFAULT_WAIT,
    ApiError,
    ResponseFormatError,
    TransportError,
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
        query = self._with_defaults(params)
        if self.read_maxlag is not None and "maxlag" not in query:
            query["maxlag"] = str(self.read_maxlag)
        for attempt in range(self.maxlag_retries + 1):
            try:
                return self._send("GET", query)
            except ApiError as err:
                if err.code != "maxlag" or attempt == self.maxlag_retries:
                    raise
                wait = min(err.retry_after if err.retry_after is not None
                           else MAXLAG_DEFAULT_WAIT, self.max_wait)
                log.info("wiki.maxlag_wait", extra={"wait": wait, "lag": err.lag})
                self._sleep(wait)
        raise AssertionError("unreachable")

    def post(self, params: Params, *, write: bool = True) -> dict[str, Any]:
        """A POST, sent exactly once. ``write=True`` adds ``maxlag`` and ``assert=user``."""
        form = self._with_defaults(params)
        if write:
            form.setdefault("maxlag", str(self.write_maxlag))
            form.setdefault("assert", "user")
        return self._send("POST", form)

    def continued(self, params: Params) -> Iterator[dict[str, Any]]:
        """Yield every response of a continued query (copy the whole ``continue`` object each
        time; the previous continue values are dropped, as the API expects)."""
        base = dict(params)
        current = dict(base)
        while True:
            doc = self.get(current)
            yield doc
            cont = doc.get("continue")
            if not cont:
                return
            current = {**base, **cont}

    # ---- internals -------------------------------------------------------------------------

    def _with_defaults(self, params: Params) -> dict[str, str]:
        out = encode_params(params)
        out.setdefault("format", "json")
        out.setdefault("formatversion", "2")
        return out

    def _send(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            if method == "GET":
                resp = self.session.get(self.api_url, params=params)
            else:
                resp = self.session.post(self.api_url, data=params)
        except requests.exceptions.RequestException as exc:
            raise TransportError(method, self.api_url, _describe(exc),
                                 maybe_applied=method == "POST" and _may_have_arrived(exc),
                                 ) from exc
        return _decode(method, resp)


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
