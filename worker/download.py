"""Thumbnail downloads: from the configured upload host only, streamed, capped, timed.

The URL comes from an API answer, so it is checked like untrusted input: a thumbnail URL (or a
redirect) pointing anywhere but ``cfg.wiki.upload_host`` is refused, which keeps the worker from
being turned into a fetcher of arbitrary URLs. The body is read in chunks under a byte cap and an
overall deadline (``requests``' timeout alone bounds each socket read, not the whole transfer).
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from collections.abc import Callable
from urllib.parse import unquote, urljoin, urlsplit

import requests

from likeness.config import Config
from likeness.retry import Failed, Failure
from likeness.wiki.errors import parse_retry_after
from likeness.wiki.factory import download_session

CHUNK_BYTES = 64 * 1024
MAX_REDIRECTS = 3
THROTTLE_WAIT = 60.0  # seconds, when a 429 comes without Retry-After
DOWNLOAD_THREADS = 3


class DownloadError(Failed):
    """A download that produced no usable bytes; ``failure`` says whether to retry."""


def _fail(kind: str, message: str, *, retryable: bool, retry_after: float | None = None,
          throttle: bool = False) -> DownloadError:
    return DownloadError(Failure(kind, message[:500], retryable, retry_after, throttle))


class Downloader:
    """Thumbnails for one worker: a few download threads, one HTTP session per thread."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._local = threading.local()
        self._threads = cf.ThreadPoolExecutor(DOWNLOAD_THREADS, "likeness-download")

    def fetch(self, url: str) -> bytes:
        """Download from the upload host only, with the cap and timeout (thread-safe)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = download_session(self.cfg)
        return download(session, url, upload_host=self.cfg.wiki.upload_host,
                        max_bytes=self.cfg.worker.max_download_bytes,
                        timeout=self.cfg.worker.download_timeout)

    def start(self, url: str) -> cf.Future[bytes]:
        """``fetch`` in a download thread."""
        return self._threads.submit(self.fetch, url)

    def fetch_ticking(self, url: str, tick: Callable[[], object]) -> bytes:
        """``fetch`` in a download thread, ticking meanwhile (a slow transfer may take up to
        ``download_timeout``, longer than the health check allows the loop to be silent)."""
        future = self.start(url)
        while True:
            try:
                return future.result(timeout=0.5)
            except cf.TimeoutError:
                tick()


def check_host(url: str, upload_host: str) -> None:
    """Refuse any URL that is not under the configured upload host (scheme, host, port, path).

    A path with dot segments (``/upload/../api.php``, also percent-encoded) or backslashes is
    refused too: the server would resolve it to somewhere outside the upload path.
    """
    want, got = urlsplit(upload_host), urlsplit(url)
    prefix = want.path.rstrip("/") + "/"
    segments = unquote(got.path).split("/")
    if (got.scheme.lower(), got.netloc.lower()) != (want.scheme.lower(), want.netloc.lower()) \
            or not (got.path + "/").startswith(prefix) or got.username or got.password \
            or "." in segments or ".." in segments or "\\" in unquote(got.path):
        raise _fail("bad_host", f"refused to fetch {url[:200]!r}: not under {upload_host}",
                    retryable=False)


def download(session: requests.Session, url: str, *, upload_host: str, max_bytes: int,
             timeout: float) -> bytes:
    """The body of ``url``, or DownloadError. ``timeout`` bounds the whole transfer."""
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        check_host(url, upload_host)
        remaining = max(deadline - time.monotonic(), 0.1)
        try:
            with session.get(url, stream=True, allow_redirects=False,
                             timeout=(min(remaining, 10.0), min(remaining, 10.0))) as resp:
                if resp.is_redirect and resp.headers.get("Location"):
                    url = urljoin(url, resp.headers["Location"])
                    continue
                _check_status(resp)
                return _read_capped(resp, max_bytes, deadline)
        except requests.exceptions.Timeout as exc:
            raise _fail("download_timeout", f"no answer in time: {exc}", retryable=True) from exc
        except (requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError) as exc:
            # urllib3 reports a body shorter than its Content-Length as IncompleteRead.
            kind = "truncated" if "IncompleteRead" in str(exc) else "download_error"
            raise _fail(kind, f"{type(exc).__name__}: {exc}", retryable=True) from exc
    raise _fail("download_error", f"more than {MAX_REDIRECTS} redirects", retryable=False)


def _check_status(resp: requests.Response) -> None:
    status = resp.status_code
    if status < 400:
        return
    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
    if status == 429:
        raise _fail("http_429", "the upload host asks us to slow down", retryable=True,
                    retry_after=retry_after or THROTTLE_WAIT, throttle=True)
    if status == 503 and retry_after is not None:
        raise _fail("http_503", "the upload host is overloaded", retryable=True,
                    retry_after=retry_after, throttle=True)
    # 5xx and 404 both happen while a thumbnail is being rendered or purged: worth a retry,
    # bounded by the attempt limit; other client errors will not change.
    retryable = status >= 500 or status in (404, 408)
    raise _fail(f"http_{status}", f"HTTP {status} {resp.reason or ''}".strip(),
                retryable=retryable, retry_after=retry_after)


def _read_capped(resp: requests.Response, max_bytes: int, deadline: float) -> bytes:
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _fail("too_large", f"{int(declared):,} bytes declared, limit {max_bytes:,}",
                    retryable=False)
    chunks, size = [], 0
    for chunk in resp.iter_content(CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise _fail("too_large", f"more than {max_bytes:,} bytes", retryable=False)
        if time.monotonic() > deadline:
            raise _fail("download_timeout", f"transfer not finished in time ({size:,} bytes)",
                        retryable=True)
        chunks.append(chunk)
    data = b"".join(chunks)
    if declared and declared.isdigit() and int(declared) != len(data) and \
            not resp.headers.get("Content-Encoding"):
        raise _fail("truncated", f"got {len(data):,} of {int(declared):,} bytes", retryable=True)
    return data
