"""Fault injection: one test per kind, plus how faults are counted and matched."""

from __future__ import annotations

import io
import time

import pytest
import requests
from PIL import Image

from standin import Catalog, StandIn
from standin.actionapi.imageinfo import original_url, thumb_url


def _query(s: StandIn, **params: str) -> requests.Response:
    return requests.get(s.urls.api("commons"), timeout=10, params={
        "action": "query", "meta": "tokens", "format": "json", **params})


def _image_url(s: StandIn, cat: Catalog) -> str:
    page = s.world.files[cat.file("File:Bill Gates 1.jpg").pageid]
    return original_url(s.urls, page)


def test_error_fails_n_times_then_succeeds(standin: StandIn) -> None:
    standin.fault("commons.api", "error", code="ratelimited", times=2)
    codes = [_query(standin).json().get("error", {}).get("code") for _ in range(3)]
    assert codes == ["ratelimited", "ratelimited", None]
    log = standin.requests_log(route="commons")
    assert [r["error"] for r in log] == ["ratelimited", "ratelimited", None]
    assert [r["fault"] for r in log] == ["error", "error", None]


def test_error_only_for_the_named_action_and_after_k_requests(standin: StandIn) -> None:
    standin.fault("commons.api", "error", code="badtoken", action="wbgetentities", after=1)
    assert "error" not in _query(standin).json()
    ids = {"action": "wbgetentities", "ids": "M1", "format": "json"}
    first = requests.get(standin.urls.api("commons"), params=ids, timeout=5)
    second = requests.get(standin.urls.api("commons"), params=ids, timeout=5)
    assert "error" not in first.json()
    assert second.json()["error"]["code"] == "badtoken"
    assert second.headers["MediaWiki-API-Error"] == "badtoken"


def test_maxlag_is_honoured_only_for_requests_that_send_maxlag(standin: StandIn) -> None:
    standin.fault("commons.api", "maxlag", times=None, lag=7.25)
    assert "error" not in _query(standin).json()                  # no maxlag parameter
    assert "error" not in _query(standin, maxlag="10").json()     # tolerates 10 s
    resp = _query(standin, maxlag="5")
    body = resp.json()
    assert resp.status_code == 200
    assert body["error"]["code"] == "maxlag" and body["error"]["lag"] == 7.25
    assert resp.headers["Retry-After"] == "5" and resp.headers["X-Database-Lag"] == "7"


def test_replica_lag_setting_applies_to_every_request_with_maxlag(standin: StandIn) -> None:
    standin.configure(replica_lag=12.0)
    assert _query(standin, maxlag="5").json()["error"]["code"] == "maxlag"
    assert _query(standin, maxlag="-1").json()["error"]["code"] == "maxlag"
    standin.configure(replica_lag=0.0)
    assert "error" not in _query(standin, maxlag="5").json()


@pytest.mark.parametrize("status", [429, 503])
def test_http_status_with_retry_after(standin: StandIn, standin_catalog: Catalog,
                                      status: int) -> None:
    standin.fault("upload", "http", status=status, retry_after=3)
    resp = requests.get(_image_url(standin, standin_catalog), timeout=5)
    assert resp.status_code == status and resp.headers["Retry-After"] == "3"
    assert requests.get(_image_url(standin, standin_catalog), timeout=5).status_code == 200


def test_delay(standin: StandIn) -> None:
    standin.fault("commons.api", "delay", seconds=0.4)
    started = time.monotonic()
    assert "query" in _query(standin).json()
    assert time.monotonic() - started >= 0.4
    standin.fault("commons.api", "delay", seconds=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(standin.urls.api("commons"), params={"action": "query"}, timeout=0.3)


def test_drop_closes_the_connection(standin: StandIn) -> None:
    standin.fault("wikidata.api", "drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(standin.urls.api("wikidata"), params={"action": "query"}, timeout=5)
    ok = requests.get(standin.urls.api("wikidata"), params={"action": "query"}, timeout=5)
    assert ok.status_code == 200


def test_truncate_with_full_length_breaks_the_read(standin: StandIn,
                                                   standin_catalog: Catalog) -> None:
    standin.fault("upload.original", "truncate", keep=0.5)
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        requests.get(_image_url(standin, standin_catalog), timeout=5)


def test_truncate_with_short_length_serves_a_cut_image(standin: StandIn,
                                                       standin_catalog: Catalog) -> None:
    full = requests.get(_image_url(standin, standin_catalog), timeout=5).content
    standin.fault("upload.original", "truncate", keep=0.3, declare_full=False)
    cut = requests.get(_image_url(standin, standin_catalog), timeout=5)
    assert cut.status_code == 200 and len(cut.content) == int(len(full) * 0.3)
    assert full.startswith(cut.content)
    with pytest.raises(OSError):
        Image.open(io.BytesIO(cut.content)).load()


@pytest.mark.parametrize("how", ["garbage", "flip", "html"])
def test_corrupt_bytes(standin: StandIn, standin_catalog: Catalog, how: str) -> None:
    page = standin.world.files[standin_catalog.file("File:Bill Gates 1.jpg").pageid]
    url = thumb_url(standin.urls, page, 250)
    good = requests.get(url, timeout=5).content
    standin.fault("upload.thumb", "corrupt", how=how)
    bad = requests.get(url, timeout=5)
    assert bad.status_code == 200 and bad.content != good
    if how == "html":
        assert bad.headers["Content-Type"].startswith("text/html")
    if how == "garbage":
        with pytest.raises(OSError):
            Image.open(io.BytesIO(bad.content))
    if how == "flip":
        assert bad.content[:100] == good[:100] and len(bad.content) == len(good)


def test_faults_over_the_control_api(standin: StandIn) -> None:
    control = f"{standin.base_url}/_standin"
    created = requests.post(f"{control}/faults", timeout=5, json={
        "route": "commons.api", "kind": "error", "code": "editconflict", "times": 1})
    assert created.status_code == 201
    assert _query(standin).json()["error"]["code"] == "editconflict"
    listed = requests.get(f"{control}/faults", timeout=5).json()
    assert listed[0]["applied"] == 1
    bad = requests.post(f"{control}/faults", json={"route": "x", "kind": "melt"}, timeout=5)
    assert bad.status_code == 400 and "unknown fault kind" in bad.json()["error"]
    requests.post(f"{control}/faults", timeout=5, json={
        "route": "commons", "kind": "error", "code": "ratelimited", "times": None})
    assert _query(standin).json()["error"]["code"] == "ratelimited"
    assert requests.delete(f"{control}/faults", timeout=5).status_code == 200
    assert "error" not in _query(standin).json()
