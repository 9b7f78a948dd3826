"""Thumbnail downloads over real HTTP: upload host only, size cap, overall timeout, typed
failures (throttle vs transient vs permanent), the tool's User-Agent."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from likeness.useragent import user_agent
from likeness.wiki.factory import download_session
from tests.waiting import wait_for
from worker.download import DownloadError, check_host, download

PORTRAIT = "File:Bill Gates 2.jpg"


@pytest.fixture
def cfg(make_config, standin):
    return make_config(**standin.config_overrides())


@pytest.fixture
def url(standin):
    from standin.actionapi.imageinfo import original_url

    return original_url(standin.urls, standin.world.file_by_title(PORTRAIT))


def fetch(cfg, url, **kw):
    options = {"upload_host": cfg.wiki.upload_host, "max_bytes": 10_000_000, "timeout": 10.0}
    return download(download_session(cfg), url, **{**options, **kw})


def failure(cfg, url, **kw):
    with pytest.raises(DownloadError) as info:
        fetch(cfg, url, **kw)
    return info.value.failure


def test_a_thumbnail_downloads_with_the_tools_user_agent(cfg, url, standin):
    data = fetch(cfg, url)
    assert data[:2] == b"\xff\xd8" and len(data) > 1000
    assert standin.world.requests[-1]["user_agent"] == user_agent(cfg)


@pytest.mark.parametrize("other", [
    "http://evil.example/upload/x.jpg",
    "https://{host}/x.jpg",  # other scheme
    "http://{host}/commons/w/api.php",  # same host, outside the upload path
    "http://user:pw@{host}/upload/x.jpg",
    # Dot segments climb out of the upload path once the server resolves them.
    "http://{host}/upload/../commons/w/api.php",
    "http://{host}/upload/a/../../commons/w/api.php",
    "http://{host}/upload/%2e%2e/commons/w/api.php",
    "http://{host}/upload/%2E%2E%2Fcommons/w/api.php",
    "http://{host}/upload/./x.jpg",
    "http://{host}/upload/..%5ccommons/w/api.php",
])
def test_other_hosts_are_refused(cfg, standin, other):
    target = other.format(host=f"{standin.host}:{standin.port}")
    with pytest.raises(DownloadError) as info:
        check_host(target, cfg.wiki.upload_host)
    assert info.value.failure.kind == "bad_host" and not info.value.failure.retryable


def test_paths_under_the_upload_host_pass(cfg, standin):
    host = f"{standin.host}:{standin.port}"
    for ok in ("http://{host}/upload/a/ab/x.jpg", "http://{host}/upload/a/ab/x..y.jpg",
               "http://{host}/upload/a/ab/...jpg"):
        check_host(ok.format(host=host), cfg.wiki.upload_host)


def test_a_redirect_off_the_upload_host_is_refused(cfg, standin, url):
    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(302)
            self.send_header("Location", url)  # the stand-in: another port
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}/upload"
        got = failure(cfg, f"{base}/a/ab/x.jpg", upload_host=base)
    finally:
        server.shutdown()
    assert got.kind == "bad_host"


def test_the_size_cap(cfg, url):
    got = failure(cfg, url, max_bytes=1000)
    assert (got.kind, got.retryable) == ("too_large", False)


def test_a_slow_answer_times_out(cfg, url, standin):
    standin.fault("upload", "delay", seconds=3)
    got = failure(cfg, url, timeout=1.0)
    assert (got.kind, got.retryable) == ("download_timeout", True)
    # The stand-in logs the abandoned request when its delay ends: let that happen here, not
    # in the log of a later test that counts requests.
    wait_for(lambda: standin.world.requests, 10, "the stand-in to finish the slow answer")


def test_a_cut_connection_is_a_truncated_download(cfg, url, standin):
    standin.fault("upload", "truncate", keep=0.5, declare_full=True)
    got = failure(cfg, url)
    assert (got.kind, got.retryable) == ("truncated", True)


def test_a_dropped_connection_is_transient(cfg, url, standin):
    standin.fault("upload", "drop")
    got = failure(cfg, url)
    assert (got.kind, got.retryable) == ("download_error", True)


@pytest.mark.parametrize(("status", "retry_after", "kind", "retryable", "throttle"), [
    (429, 120, "http_429", True, True),
    (429, None, "http_429", True, True),
    (503, 30, "http_503", True, True),
    (503, None, "http_503", True, False),
    (500, None, "http_500", True, False),
    (404, None, "http_404", True, False),
    (403, None, "http_403", False, False),
])
def test_http_errors_are_typed(cfg, url, standin, status, retry_after, kind, retryable,
                               throttle):
    standin.fault("upload", "http", status=status, retry_after=retry_after)
    got = failure(cfg, url)
    assert (got.kind, got.retryable, got.throttle) == (kind, retryable, throttle)
    if retry_after:
        assert got.retry_after == retry_after
    assert len(standin.world.requests) == 1  # no retry at the HTTP layer: the queue retries
