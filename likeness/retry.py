"""What to do after a unit of work failed: one typed decision and one retry policy.

``failure_of`` turns whatever went wrong (a wiki call, a download, the face pool, our own bug)
into a ``Failure``; ``RetryPolicy.next_try`` turns a Failure and the attempt count into a date
or "give up". Every job, the image pipeline and the edit sender use these two, so a throttled
server, a missing file or a corrupt image mean the same thing everywhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from likeness.faces.types import ImageError
from likeness.wiki.errors import ApiError, Permanent, RetryLater, WikiError, classify

MAX_BACKOFF_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Failure:
    kind: str             # short code, stored with the item (images.error_kind, jobs.error)
    message: str
    retryable: bool       # may trying again help?
    retry_after: float | None = None  # seconds the server asked us to wait
    throttle: bool = False  # the server asks everyone to slow down: not this item's fault

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class Failed(Exception):
    """Raised with a Failure that is already classified (downloads, our own checks)."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(str(failure))
        self.failure = failure


def failure_of(error: BaseException | ImageError) -> Failure:
    """Any failure, as the one typed decision the retry policy reads."""
    if isinstance(error, Failed):
        return error.failure
    if isinstance(error, ImageError):
        return Failure(error.kind, error.message, error.retryable)
    if isinstance(error, WikiError):
        outcome = classify(error, oauth=False)
        kind = error.code if isinstance(error, ApiError) else type(error).__name__
        if isinstance(outcome, RetryLater):
            # The server (or the way to it) asked for time: wait, without counting it.
            return Failure(kind, str(error), True, outcome.seconds, throttle=True)
        if isinstance(outcome, Permanent):
            return Failure(kind, str(error), False)
        return Failure(kind, str(error), True)  # token or state trouble: a later try may work
    return Failure("internal", f"{type(error).__name__}: {error}", False)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff from ``base_seconds``, at most ``max_attempts`` attempts in all;
    a throttle waits what the server asked and is not counted as an attempt."""

    max_attempts: int = 5
    base_seconds: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt number ``attempt`` (1-based): base, 2 base, 4 base..."""
        return min(self.base_seconds * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)

    def next_try(self, attempt: int, failure: Failure,
                 now: dt.datetime) -> dt.datetime | None:
        """When to try again after failed attempt ``attempt``; None: give up."""
        if failure.throttle:
            return now + dt.timedelta(seconds=failure.retry_after or self.base_seconds)
        if not failure.retryable or attempt >= self.max_attempts:
            return None
        delay = max(self.backoff(attempt), failure.retry_after or 0.0)
        return now + dt.timedelta(seconds=delay)
