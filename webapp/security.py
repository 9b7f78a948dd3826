"""Security defaults in one place: CSRF, same-origin checks, headers, redirects, rate limits.

* CSRF: one random token per session. Forms send it as the hidden field ``csrf_token``;
  ``fetch()`` sends it as the ``X-CSRF-Token`` header (read from ``<meta name="csrf-token">``).
  Every request other than GET/HEAD/OPTIONS must carry it, and a present ``Origin`` (or, without
  one, ``Referer``) must be this site.
* Headers: a strict CSP (no inline script or style), frame denial, nosniff, Referrer-Policy.
* ``safe_next(url)``: only same-site paths survive (no ``//host``, ``/\\host``, schemes, controls).
* Rate limits: token buckets per (user or address, group), in the database so that every process
  counts against the same limit. Generous by default so a fast labeller never waits; tight for
  invite-code guessing and login. The address is the socket's, or the one the configured
  proxies (app.proxy_hops) vouch for: a client's own X-Forwarded-For changes nothing.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, request, session
from sqlalchemy import Engine

from likeness.db import rate_limits
from webapp.access import maybe_user
from webapp.api import error_response, is_api_request

CSRF_SESSION_KEY = "csrf"
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_QUERY_STRING = 4096

F = TypeVar("F", bound=Callable[..., Any])


# --- CSRF -------------------------------------------------------------------------------------

def csrf_token() -> str:
    """This session's CSRF token, created on first use (templates call it as csrf_token())."""
    token = session.get(CSRF_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def _csrf_exempt(view: Callable[..., Any] | None) -> bool:
    return bool(view is not None and getattr(view, "csrf_exempt", False))


def csrf_exempt(view: F) -> F:
    """For endpoints that must accept cross-site POSTs (none so far); use sparingly."""
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


def _check_csrf() -> Response | None:
    if request.method in SAFE_METHODS:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if _csrf_exempt(view):
        return None
    if not _same_origin():
        return _refuse(403, "cross_origin", "Cross-site request refused.")
    expected = session.get(CSRF_SESSION_KEY)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.mimetype in ("application/x-www-form-urlencoded",
                                             "multipart/form-data"):
        sent = request.form.get(CSRF_FORM_FIELD)
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        return _refuse(400, "csrf", "The form expired or the CSRF token is missing; reload "
                                    "the page and try again.")
    return None


def _same_origin() -> bool:
    """A present Origin (else Referer) header must name this host and scheme."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source:
        return True  # some privacy tools strip both; the CSRF token still protects
    if source == "null":
        return False
    parts = urlsplit(source)
    own = urlsplit(request.host_url)
    return (parts.scheme, parts.netloc) == (own.scheme, own.netloc)


def _refuse(status: int, code: str, message: str) -> Response:
    if is_api_request():
        return error_response(status, code, message)
    response = Response(message, status=status, mimetype="text/plain")
    return response


# --- redirects --------------------------------------------------------------------------------

def safe_next(target: str | None, default: str = "/") -> str:
    """Return ``target`` if it is a plain path on this site, else ``default``."""
    if not target or len(target) > 2000:
        return default
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target) or "\\" in target:
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


# --- headers ----------------------------------------------------------------------------------

def content_security_policy(upload_host: str) -> str:
    origin = urlsplit(upload_host)
    img_host = f"{origin.scheme}://{origin.netloc}" if origin.netloc else ""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' data: blob: {img_host}".rstrip(),
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    ])


def _set_headers(response: Response) -> Response:
    cfg = current_app.extensions["likeness.config"]
    response.headers.setdefault("Content-Security-Policy",
                                content_security_policy(cfg.wiki.upload_host))
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if cfg.secure_cookies:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint != "static" and "Cache-Control" not in response.headers:
        # Pages show private data; never let a shared cache keep them.
        response.headers["Cache-Control"] = "no-store"
    return response


# --- rate limits ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limit:
    rate: float  # tokens added per second
    burst: float  # bucket size
    # Tokens a process takes from the shared bucket at once and spends locally (for at most
    # LEASE_SECONDS): one database write per `lease` requests. The total never exceeds the
    # bucket, but a process may spend up to lease - 1 tokens later than it took them; 1
    # (exact) for every limit that guards a secret or a Wikimedia API.
    lease: int = 1


# "default" applies to every request; views opt into stricter or looser groups with @rate_limit.
LIMITS: dict[str, Limit] = {
    "default": Limit(rate=30.0, burst=300.0, lease=60),
    # Labelling: an answer and the next question are two calls, so 10 answers/s need 20/s.
    "label": Limit(rate=30.0, burst=120.0, lease=40),
    "search": Limit(rate=3.0, burst=20.0),  # typing in the autocomplete
    "wiki": Limit(rate=1.0, burst=10.0),  # server-side fetches from Wikimedia
    "write": Limit(rate=1.0, burst=20.0),  # creating projects, invites, settings
    "join": Limit(rate=1 / 30, burst=5.0),  # invite codes: guessing is refused
    "login": Limit(rate=0.2, burst=10.0),
}
LEASE_SECONDS = 60.0  # leased tokens still unspent after this are given up
PRUNE_SECONDS = 60.0  # each process deletes refilled buckets this often


class RateLimiter:
    """Token buckets keyed by (group, who), kept in the database (likeness.db.rate_limits) so
    that every web process counts against the same limit.

    Two things spare the database: tokens of generous limits are taken a few at a time
    (``Limit.lease``), and an empty bucket's refusal is remembered until its next token is due
    (no other process can make one appear sooner), so a flood of refused requests writes
    nothing.
    """

    def __init__(self, limits: dict[str, Limit], engine: Engine, max_keys: int = 10_000
                 ) -> None:
        self.limits = limits
        self.engine = engine
        self.max_keys = max_keys
        self._leased: dict[tuple[str, str], tuple[int, float]] = {}  # tokens left, until
        self._refused: dict[tuple[str, str], float] = {}  # refused until (Unix time)
        self._lock = threading.Lock()
        self._next_prune = 0.0

    def hit(self, group: str, who: str, now: float | None = None) -> float:
        """Take one token; return 0 when allowed, else seconds until the next token."""
        limit = self.limits[group]
        key = (group, who)
        now = time.time() if now is None else now  # Unix time: the processes share it
        local = self._local(key, now)
        if local is not None:
            return local
        with self.engine.begin() as conn:
            granted, wait = rate_limits.take(conn, f"{group}:{who}"[:120], limit.rate,
                                             limit.burst, now, want=limit.lease)
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_SECONDS
            with self.engine.begin() as conn:
                rate_limits.prune(conn, now)
        with self._lock:
            if len(self._leased) + len(self._refused) >= self.max_keys:
                self._leased.clear()  # unspent leases are only lost, never doubled
                self._refused.clear()
            # Threads of this process may lease at once: their tokens add up, and a refusal
            # by the database still leaves this request the tokens another thread took.
            left, until = self._leased.get(key, (0, 0.0))
            if granted > 1:
                self._leased[key] = (left + granted - 1, now + LEASE_SECONDS)
            elif wait and left > 0 and now < until:
                self._leased[key] = (left - 1, until)
                return 0.0
            elif wait:
                self._refused[key] = now + wait
        return wait

    def _local(self, key: tuple[str, str], now: float) -> float | None:
        """Answer from this process's state when it can: a leased token or a known refusal."""
        with self._lock:
            left, until = self._leased.get(key, (0, 0.0))
            if left > 0 and now < until:  # tokens taken already come first
                self._leased[key] = (left - 1, until)
                return 0.0
            self._leased.pop(key, None)
            refused_until = self._refused.get(key)
            if refused_until is not None:
                if now < refused_until:
                    return refused_until - now
                del self._refused[key]
        return None


def _who() -> str:
    user = maybe_user()  # a session refused on the server counts as anonymous
    return f"u{user.id}" if user else f"a{request.remote_addr}"


def check_rate(group: str, who: str | None = None) -> None:
    """Abort with 429 when ``group`` is exhausted for this user (or address)."""
    limiter: RateLimiter = current_app.extensions["likeness.ratelimiter"]
    wait = limiter.hit(group, who or _who())
    if wait:
        seconds = str(max(1, int(wait + 0.999)))
        if is_api_request():
            abort(error_response(429, "rate_limited", "Too many requests; slow down.",
                                 {"Retry-After": seconds}))
        abort(Response("Too many requests; slow down.", status=429,
                       headers={"Retry-After": seconds}, mimetype="text/plain"))


def rate_limit(group: str) -> Callable[[F], F]:
    """Decorator: charge one token of ``group`` (on top of "default") per call."""
    if group not in LIMITS:
        raise KeyError(f"unknown rate-limit group {group!r}")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check_rate(group)
            return view(*args, **kwargs)

        wrapper.rate_limit_group = group  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


# --- wiring -----------------------------------------------------------------------------------

def init_security(app: Flask) -> None:
    app.extensions["likeness.ratelimiter"] = RateLimiter(dict(LIMITS),
                                                         app.extensions["likeness.engine"])
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def _guard() -> Response | None:
        if len(request.query_string) > MAX_QUERY_STRING:
            return _refuse(414, "uri_too_long", "The address is too long.")
        if request.endpoint not in ("static", "health.healthz"):
            check_rate("default")
        return _check_csrf()

    app.after_request(_set_headers)
