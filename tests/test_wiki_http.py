"""The HTTP layer against the stand-in: User-Agent, timeouts, GET retries, no POST retries.

Real HTTP to the stand-in server; faults are injected through its fault registry.
"""

import time

import pytest

from likeness.config import load_config
from likeness.useragent import user_agent
from likeness.wiki.api import ActionApi
from likeness.wiki.errors import (
    ApiError,
    Reread,
    ResponseFormatError,
    RetryLater,
    TransportError,
    classify,
)
from likeness.wiki.factory import make_clients
from likeness.wiki.http import HttpRetry, make_session

TESTER = "Likeness Tester"


@pytest.fixture
def cfg(standin):
    return load_config(path="/nonexistent/config.yaml", environ={},
                       overrides=standin.config_overrides())


def _api(cfg, token=None, **kw):
    session = make_session(user_agent(cfg), access_token=token, timeout=kw.pop("timeout", 5.0),
                           retry=kw.pop("retry", HttpRetry(backoff=0.05)))
    return ActionApi(cfg.wiki.commons_api, session, **kw)


def _siteinfo(api):
    return api.get({"action": "query", "meta": "tokens", "type": "csrf"})


def test_user_agent_on_every_request(standin, cfg):
    clients = make_clients(cfg, standin.issue_token(TESTER))
    clients.commons.get({"action": "query", "list": "categorymembers",
                         "cmtitle": "Category:Likeness test files"})
    clients.wikidata.get({"action": "wbgetentities", "ids": "Q5"})
    clients.commons.post({"action": "wbgetentities", "ids": "M1"}, write=False)
    rows = standin.requests_log()
    assert len(rows) == 3
    assert {r["user_agent"] for r in rows} == {user_agent(cfg)}
    assert "tools.likeness@toolforge.org" in user_agent(cfg)
    assert all(r["authorization"] and r["authorization"].startswith("Bearer") for r in rows)


def test_every_request_has_formatversion_2_and_json(standin, cfg):
    _siteinfo(_api(cfg))
    (row,) = standin.requests_log("commons.api")
    assert row["params"]["format"] == "json"
    assert row["params"]["formatversion"] == "2"
    assert "maxlag" not in row["params"]     # reads carry maxlag only when asked (worker)


def test_read_maxlag_is_sent_when_configured(standin, cfg):
    _siteinfo(_api(cfg, read_maxlag=5))
    (row,) = standin.requests_log("commons.api")
    assert row["params"]["maxlag"] == "5"


def test_get_retries_503_after_retry_after(standin, cfg):
    standin.fault("commons.api", "http", times=1, status=503, retry_after=1)
    api = _api(cfg)
    started = time.monotonic()
    doc = _siteinfo(api)
    elapsed = time.monotonic() - started
    assert doc["query"]["tokens"]["csrftoken"] == "+\\"
    rows = standin.requests_log("commons.api")
    assert [r["status"] for r in rows] == [503, 200]
    assert elapsed >= 1.0          # waited the server's Retry-After, not the 0.05 s backoff


def test_get_retry_after_is_capped(standin, cfg):
    standin.fault("commons.api", "http", times=1, status=429, retry_after=3600)
    api = _api(cfg, retry=HttpRetry(max_wait=0.2))
    started = time.monotonic()
    _siteinfo(api)
    assert time.monotonic() - started < 5
    assert [r["status"] for r in standin.requests_log("commons.api")] == [429, 200]


def test_get_gives_up_after_bounded_attempts(standin, cfg):
    standin.fault("commons.api", "http", times=None, status=503)
    api = _api(cfg, retry=HttpRetry(attempts=3, backoff=0.01))
    with pytest.raises(ApiError) as info:
        _siteinfo(api)
    assert info.value.http_status == 503
    assert isinstance(classify(info.value), RetryLater)
    assert len(standin.requests_log("commons.api")) == 3


def test_get_retries_dropped_connection(standin, cfg):
    standin.fault("commons.api", "drop", times=2)
    doc = _siteinfo(_api(cfg))
    assert "query" in doc
    assert len(standin.requests_log("commons.api")) == 3


def test_post_is_never_retried_on_dropped_connection(standin, cfg):
    token = standin.issue_token(TESTER)
    api = _api(cfg, token)
    csrf = standin.csrf_token(TESTER)
    standin.fault("commons.api", "drop", times=1, method="POST")
    with pytest.raises(TransportError) as info:
        api.post({"action": "wbremoveclaims", "claim": "M1$00000000-0000-0000-0000-000000000000",
                  "summary": "x", "token": csrf})
    assert info.value.maybe_applied is True
    assert isinstance(classify(info.value), Reread)
    assert len(standin.requests_log("commons.api", method="POST")) == 1


def test_post_is_never_retried_on_503(standin, cfg):
    api = _api(cfg, standin.issue_token(TESTER))
    standin.fault("commons.api", "http", times=1, status=503, retry_after=1, method="POST")
    with pytest.raises(ApiError) as info:
        api.post({"action": "wbgetentities", "ids": "M1"}, write=False)
    assert classify(info.value) == RetryLater(1.0, "HTTP 503")
    assert len(standin.requests_log("commons.api", method="POST")) == 1


def test_timeout_applies_to_every_call(standin, cfg):
    standin.fault("commons.api", "delay", times=None, seconds=1.0)
    api = _api(cfg, timeout=0.3, retry=HttpRetry(attempts=2, backoff=0.01))
    started = time.monotonic()
    with pytest.raises(TransportError) as info:
        _siteinfo(api)
    assert info.value.maybe_applied is False     # a GET: nothing to re-read
    assert time.monotonic() - started < 1.9      # two timed-out tries, not two full delays
    # The server logs a request when its (delayed) answer is done: wait for both, so they do
    # not land in the next test's log.
    deadline = time.monotonic() + 5
    while len(standin.requests_log("commons.api")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(standin.requests_log("commons.api")) == 2


def test_maxlag_on_get_waits_retry_after_then_succeeds(standin, cfg):
    waits = []
    api = _api(cfg, read_maxlag=5, sleep=waits.append)
    standin.fault("commons.api", "maxlag", times=2, lag=7)
    doc = _siteinfo(api)
    assert "query" in doc
    # The stand-in, like MediaWiki, answers Retry-After: max(maxlag, 5).
    assert waits == [5.0, 5.0]
    assert [r["error"] for r in standin.requests_log("commons.api")] == ["maxlag", "maxlag", None]


def test_maxlag_on_get_is_bounded(standin, cfg):
    waits = []
    api = _api(cfg, read_maxlag=5, maxlag_retries=2, max_wait=1.0, sleep=waits.append)
    standin.fault("commons.api", "maxlag", times=None, lag=30)
    with pytest.raises(ApiError) as info:
        _siteinfo(api)
    assert info.value.code == "maxlag"
    assert waits == [1.0, 1.0]                   # capped at max_wait
    assert len(standin.requests_log("commons.api")) == 3
    assert classify(info.value) == RetryLater(5.0, "maxlag (30.0s lag)")


def test_maxlag_on_post_is_raised_not_retried(standin, cfg):
    api = _api(cfg, standin.issue_token(TESTER), sleep=lambda s: pytest.fail("slept"))
    standin.fault("commons.api", "maxlag", times=1, lag=9, method="POST")
    with pytest.raises(ApiError) as info:
        api.post({"action": "wbremoveclaims", "claim": "M1$00000000-0000-0000-0000-000000000000",
                  "summary": "x", "token": standin.csrf_token(TESTER)})
    assert classify(info.value) == RetryLater(5.0, "maxlag (9.0s lag)")
    (row,) = standin.requests_log("commons.api", method="POST")
    assert row["params"]["maxlag"] == "5" and row["params"]["assert"] == "user"


def test_unreadable_answers(standin, cfg):
    api = _api(cfg, standin.issue_token(TESTER))
    standin.fault("commons.api", "corrupt", times=1, how="html", method="GET")
    with pytest.raises(ResponseFormatError) as read:
        _siteinfo(api)
    assert classify(read.value) == RetryLater(30.0, "unreadable answer")
    standin.fault("commons.api", "truncate", times=1, keep=0.5, declare_full=False,
                  method="POST")
    with pytest.raises(ResponseFormatError) as write:
        api.post({"action": "wbremoveclaims", "claim": "M1$00000000-0000-0000-0000-000000000000",
                  "summary": "x", "token": standin.csrf_token(TESTER)})
    assert isinstance(classify(write.value), Reread)       # the write may have landed
    assert len(standin.requests_log("commons.api", method="POST")) == 1
