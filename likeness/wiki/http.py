"""The HTTP session every Wikimedia call goes through.

Every request carries the tool's User-Agent and a timeout. Idempotent requests (GET/HEAD) are
retried on connection errors, 429 and 5xx, waiting Retry-After when the server sends it (capped).
POST is never retried here: a POST whose answer was lost may already have been applied, and
replaying it made duplicate edits in WikiVisage. urllib3's own retries are switched off so that
this file is the only retry policy at the HTTP layer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from likeness.wiki.errors import parse_retry_after

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_RETRYABLE_EXCEPTIONS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True)
class HttpRetry:
    """How idempotent requests are retried. ``attempts`` counts the first try."""

    attempts: int = 4
    backoff: float = 1.0        # first wait without Retry-After; doubles each time
    max_wait: float = 60.0      # cap on any single wait, Retry-After included
    statuses: frozenset[int] = RETRY_STATUSES

    def wait_for(self, attempt: int, retry_after: float | None) -> float:
        wait = retry_after if retry_after is not None else self.backoff * 2 ** (attempt - 1)
        return min(wait, self.max_wait)


class WikiSession(requests.Session):
    """A ``requests.Session`` with a default timeout and GET-only retries."""

    def __init__(
        self,
        user_agent: str,
        *,
        timeout: float = 20.0,
        retry: HttpRetry | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        if not user_agent.strip():
            raise ValueError("a User-Agent naming the tool and a contact is required")
        self.headers["User-Agent"] = user_agent
        self.timeout = timeout
        self.retry = retry or HttpRetry()
        self._sleep = sleep
        adapter = HTTPAdapter(max_retries=0)   # no urllib3 Retry for any method
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    @property
    def has_bearer_token(self) -> bool:
        return str(self.headers.get("Authorization", "")).startswith("Bearer ")

    def set_bearer_token(self, access_token: str | None) -> None:
        """Authenticate later requests with an OAuth 2.0 access token (None: anonymous)."""
        if access_token:
            self.headers["Authorization"] = f"Bearer {access_token}"
        else:
            self.headers.pop("Authorization", None)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if method.upper() not in IDEMPOTENT_METHODS:
            return super().request(method, url, *args, **kwargs)
        policy = self.retry
        for attempt in range(1, policy.attempts + 1):
            last = attempt == policy.attempts
            try:
                resp = super().request(method, url, *args, **kwargs)
            except _RETRYABLE_EXCEPTIONS as exc:
                if last:
                    raise
                wait = policy.wait_for(attempt, None)
                log.warning("wiki.http_retry", extra={
                    "url": url, "attempt": attempt, "wait": wait, "error": type(exc).__name__})
            else:
                if resp.status_code not in policy.statuses or last:
                    return resp
                wait = policy.wait_for(attempt, parse_retry_after(resp.headers.get("Retry-After")))
                log.warning("wiki.http_retry", extra={
                    "url": url, "attempt": attempt, "wait": wait, "status": resp.status_code})
                resp.close()
            self._sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt


def make_session(
    user_agent: str,
    *,
    access_token: str | None = None,
    timeout: float = 20.0,
    retry: HttpRetry | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> WikiSession:
    """The session factory. ``user_agent`` comes from ``likeness.useragent.user_agent(cfg)``."""
    session = WikiSession(user_agent, timeout=timeout, retry=retry, sleep=sleep)
    session.set_bearer_token(access_token)
    return session
