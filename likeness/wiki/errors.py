"""Wikimedia API errors and the typed outcomes that decide what a caller does next.

MediaWiki answers errors with HTTP 200: ``{"error": {"code", "info", ...}}`` (or, with
``errorformat=plaintext``, ``{"errors": [{"code", "text"}]}``) plus a ``MediaWiki-API-Error``
header. ``classify()`` turns any failure of a wiki call into one of five outcomes, so retry
policy lives in one table instead of in every caller (WikiVisage looped on badtoken forever).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Waits used when the server gives no Retry-After (seconds).
MAXLAG_DEFAULT_WAIT = 5.0
RATELIMIT_WAIT = 60.0
OVERLOAD_WAIT = 30.0
TRANSPORT_WAIT = 60.0


class WikiError(Exception):
    """Base class of every error raised by likeness.wiki."""


class ApiError(WikiError):
    """An error answer from the Action API, or an HTTP status that carries no usable body.

    ``code`` is MediaWiki's error code (``http-429``/``http-503``... for bare HTTP errors);
    ``messages`` are the names of Wikibase's message keys (``actionthrottledtext`` ...).
    """

    def __init__(
        self,
        code: str,
        info: str = "",
        retry_after: float | None = None,
        *,
        http_status: int = 200,
        messages: tuple[str, ...] = (),
        lag: float | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {info}" if info else code)
        self.code = code
        self.info = info
        self.retry_after = retry_after
        self.http_status = http_status
        self.messages = tuple(messages)
        self.lag = lag
        self.data = dict(data or {})

    @classmethod
    def from_body(
        cls,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
        http_status: int = 200,
    ) -> ApiError | None:
        """The error in a decoded response body, or None when the body is a success."""
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        retry_after = parse_retry_after(headers.get("retry-after"))
        if isinstance(body.get("error"), Mapping):
            err = body["error"]
            names = tuple(m.get("name", "") for m in err.get("messages", []) or []
                          if isinstance(m, Mapping))
            lag = err.get("lag")
            return cls(str(err.get("code", "unknown")), str(err.get("info", "")), retry_after,
                       http_status=http_status, messages=names,
                       lag=float(lag) if isinstance(lag, int | float) else None, data=err)
        if isinstance(body.get("errors"), list) and body["errors"]:
            first = body["errors"][0]
            data = first.get("data") or {}
            names = tuple(m.get("name", "") for m in data.get("messages", []) or []
                          if isinstance(m, Mapping))
            return cls(str(first.get("code", "unknown")), str(first.get("text", "")),
                       retry_after, http_status=http_status, messages=names, data=first)
        header_code = headers.get("mediawiki-api-error")
        if header_code:
            return cls(header_code, "", retry_after, http_status=http_status)
        return None


class TransportError(WikiError):
    """The request failed below the API: connection refused or dropped, timeout, bad JSON.

    ``maybe_applied`` is True when a POST may have reached the server (a write may have
    happened), so the caller must re-read before sending it again.
    """

    def __init__(self, method: str, url: str, reason: str, *, maybe_applied: bool) -> None:
        super().__init__(f"{method} {url}: {reason}")
        self.method = method
        self.url = url
        self.reason = reason
        self.maybe_applied = maybe_applied


class ResponseFormatError(WikiError):
    """An answer we cannot read: not JSON (a proxy's HTML page, a cut-off body) or lacking a
    field we rely on. ``method="POST"``: the write may have been applied."""

    def __init__(self, message: str, *, method: str | None = None) -> None:
        super().__init__(message)
        self.method = method


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (only the delta-seconds form is used by MediaWiki/Varnish)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)


# ---- outcomes -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RetryLater:
    """Send the same request again after ``seconds`` (nothing was applied)."""

    seconds: float
    reason: str


@dataclass(frozen=True)
class RefreshToken:
    """The OAuth access token is no longer accepted: refresh it, store the rotated refresh
    token, then retry. If the refresh itself fails, the user must log in again."""

    reason: str


@dataclass(frozen=True)
class NewCsrfToken:
    """Fetch a fresh CSRF token and retry ONCE; a second badtoken is permanent."""

    reason: str
    max_retries: int = 1


@dataclass(frozen=True)
class Reread:
    """State is stale or unknown (edit conflict, dropped POST): re-read the entity, decide
    again whether the edit is still needed, then send it with the new baserevid."""

    reason: str


@dataclass(frozen=True)
class Permanent:
    """Retrying cannot help; record the failure for this item and go on with the next."""

    code: str
    info: str = field(default="")


Outcome = RetryLater | RefreshToken | NewCsrfToken | Reread | Permanent

# Error codes whose meaning does not depend on context.
_PERMANENT = frozenset({
    "permissiondenied", "protectedpage", "cascadeprotected", "blocked", "autoblocked",
    "no-such-entity", "no-such-entity-link", "modification-failed", "invalid-guid",
    "invalid-snak", "invalid-entity-id", "badtags", "badvalue", "unknown_action",
    "missingparam", "paramempty", "nosuchpageid", "missingtitle", "invalidtitle",
    "no-such-qualifier", "no-such-reference", "not-recognized", "failed-save",
    "abusefilter-disallowed", "abusefilter-warning", "spamblacklist", "mustbeposted",
    "assertbotfailed", "assertnameduserfailed",
})


def classify(exc: BaseException, *, oauth: bool = True) -> Outcome:
    """Map a failed wiki call to what the caller should do next.

    ``oauth``: the request carried an OAuth bearer token, so ``assertuserfailed`` means the token
    stopped working (refresh it); without OAuth it is a programming error (anonymous write).
    """
    if isinstance(exc, TransportError):
        if exc.maybe_applied:
            return Reread(f"outcome unknown, {exc.reason}")
        return RetryLater(TRANSPORT_WAIT, exc.reason)
    if isinstance(exc, ResponseFormatError):
        if exc.method == "POST":
            return Reread(f"unreadable answer to a write: {exc}"[:300])
        return RetryLater(OVERLOAD_WAIT, "unreadable answer")
    if not isinstance(exc, ApiError):
        return Permanent(type(exc).__name__, str(exc))
    return _classify_api_error(exc, oauth=oauth)


def _classify_api_error(err: ApiError, *, oauth: bool) -> Outcome:
    code = err.code
    if code == "maxlag":
        wait = err.retry_after if err.retry_after is not None else MAXLAG_DEFAULT_WAIT
        return RetryLater(wait, f"maxlag ({err.lag}s lag)" if err.lag is not None else "maxlag")
    if code == "ratelimited" or "actionthrottledtext" in err.messages:
        wait = err.retry_after if err.retry_after is not None else RATELIMIT_WAIT
        return RetryLater(wait, "rate limited")
    if code.startswith("http-"):
        return _classify_http(err)
    if code == "readonly" or code.startswith("internal_api_error_"):
        # Server-side trouble (read-only wiki, database errors): transient as a rule; the
        # caller's attempt limit stops a deterministic failure from looping forever.
        wait = err.retry_after if err.retry_after is not None else OVERLOAD_WAIT
        return RetryLater(wait, code)
    if code in {"mwoauth-invalid-authorization", "mwoauth-invalid-authorization-invalid-user",
                "anontoken"}:
        return RefreshToken(code)
    if code == "assertuserfailed":
        return RefreshToken(code) if oauth else Permanent(code, err.info)
    if code == "badtoken":
        return NewCsrfToken(code)
    if code in {"editconflict", "no-such-claim"}:
        return Reread(code)
    if code in _PERMANENT:
        return Permanent(code, err.info)
    # Unknown codes are treated as permanent so that nothing ever loops on them.
    return Permanent(code, err.info)


def _classify_http(err: ApiError) -> Outcome:
    status = err.http_status
    if status == 429 or status >= 500:
        wait = err.retry_after if err.retry_after is not None else (
            RATELIMIT_WAIT if status == 429 else OVERLOAD_WAIT)
        return RetryLater(wait, f"HTTP {status}")
    return Permanent(err.code, err.info)
