"""One typed decision for every failure, and one policy: throttling waits what the server asked
and never gives up, other failures back off and end after the attempt limit."""

from __future__ import annotations

import datetime as dt

import pytest

from likeness.faces.types import ImageError
from likeness.retry import Failed, Failure, RetryPolicy, failure_of
from likeness.wiki.errors import ApiError, ResponseFormatError, TransportError
from worker.download import DownloadError

NOW = dt.datetime(2026, 1, 1)


@pytest.mark.parametrize(("error", "kind", "retryable", "throttle", "wait"), [
    (ApiError("maxlag", "lagged", 7, lag=9.0), "maxlag", True, True, 7),
    (ApiError("ratelimited", "slow down"), "ratelimited", True, True, 60),
    (ApiError("http-503", "", 30, http_status=503), "http-503", True, True, 30),
    (ApiError("permissiondenied", "no"), "permissiondenied", False, False, None),
    (ApiError("some-new-code", "?"), "some-new-code", False, False, None),
    (TransportError("GET", "u", "refused", maybe_applied=False), "TransportError", True, True,
     60),
    (ResponseFormatError("html"), "ResponseFormatError", True, True, 30),
])
def test_wiki_failures(error, kind, retryable, throttle, wait):
    failure = failure_of(error)
    assert (failure.kind, failure.retryable, failure.throttle) == (kind, retryable, throttle)
    assert failure.retry_after == wait


def test_downloads_pool_errors_and_our_own_bugs():
    download = Failure("http_429", "slow down", True, 120, throttle=True)
    assert failure_of(DownloadError(download)) == download
    assert failure_of(Failed(download)) == download
    assert failure_of(ImageError("timeout", "too slow")) == Failure("timeout", "too slow", True)
    assert not failure_of(ImageError("not_an_image", "x")).retryable
    bug = failure_of(KeyError("face_id"))
    assert (bug.kind, bug.retryable) == ("internal", False) and "KeyError" in bug.message


def test_throttling_waits_what_the_server_asked_and_never_gives_up():
    policy = RetryPolicy(max_attempts=3, base_seconds=60)
    throttle = Failure("maxlag", "x", True, retry_after=5, throttle=True)
    assert policy.next_try(50, throttle, NOW) == NOW + dt.timedelta(seconds=5)
    assert policy.next_try(3, Failure("http_500", "x", True), NOW) is None
