"""Typed outcomes of one image's attempt, and the retry policy that turns them into a date.

A ``Failure`` says what went wrong (``kind``, stored in ``images.error_kind``), whether trying
again can help (``retryable``), and whether the server asked everybody to slow down
(``throttle``: 429, maxlag; the image is deferred without counting an attempt).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from likeness.faces.types import ImageError

MAX_BACKOFF_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Failure:
    kind: str
    message: str
    retryable: bool
    retry_after: float | None = None  # seconds the server asked us to wait
    throttle: bool = False  # the server is throttling: not this image's fault

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def from_image_error(error: ImageError) -> Failure:
    """The pool's typed error (decode, dlib, crash, timeout) as a Failure."""
    return Failure(error.kind, error.message, error.retryable)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff from ``base_seconds``, at most ``max_attempts`` attempts in all."""

    max_attempts: int = 5
    base_seconds: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt number ``attempt`` (1-based): base, 2 base, 4 base..."""
        return min(self.base_seconds * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)

    def next_try(self, attempt: int, failure: Failure,
                 now: dt.datetime) -> dt.datetime | None:
        """When to try again after failed attempt ``attempt``; None: give up (status failed)."""
        if not failure.retryable or attempt >= self.max_attempts:
            return None
        delay = max(self.backoff(attempt), failure.retry_after or 0.0)
        return now + dt.timedelta(seconds=delay)
