"""What the stand-in serves for candidate sources and detect-once, over real HTTP: free-text
search over titles, descriptions and captions (``filetype:bitmap``, newest uploads first),
haswbstatement for any item, page protection (read, and enforced on writes), re-uploads (a new
sha1 for an existing page) and P373/P1344 on items; the answers have the shapes of the real
samples in ../shared/api-samples."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from standin import Catalog, StandIn
from standin.faces_catalog import EVENT
from standin.shape import differences
from tests.test_standin_contract import SAMPLES, exchange
from tests.test_standin_reads import api

TESTER = "Likeness Tester"


def _search(standin: StandIn, query: str, **extra: Any) -> dict[str, Any]:
    return api(standin, action="query", list="search", srsearch=query, srnamespace=6,
               srlimit=50, formatversion=2, **extra)


def _titles(standin: StandIn, query: str, **extra: Any) -> list[str]:
    return [h["title"] for h in _search(standin, query, **extra)["query"]["search"]]


def test_free_text_search_reads_titles_descriptions_and_captions(standin: StandIn,
                                                                  tmp_path: Path) -> None:
    photo = tmp_path / "p.png"
    Image.new("RGB", (300, 200), "green").save(photo)
    standin.add_file(photo, "File:DSC 0042.png", [], sdc={
        "labels": {"de": "Zoë Quelltext bei der Arbeit"}, "statements": []})
    by_caption = _titles(standin, '"Zoë Quelltext" filetype:bitmap')
    assert by_caption == ["File:DSC 0042.png"]   # neither title nor description says it
    by_title = _titles(standin, '"Bill Gates" filetype:bitmap')
    assert "File:Bill Gates 3.jpg" in by_title and "File:Bill Gates meets Prime Minister " \
        "Modi.jpg" in by_title
    # The stand-in's descriptions end "(Likeness stand-in test file)": found by description.
    assert len(_titles(standin, '"stand-in test file"')) == 50
    assert _titles(standin, '"Bill Gates" filetype:drawing') == []   # no SVG in the catalog


def test_newest_uploads_first(standin: StandIn, tmp_path: Path) -> None:
    photo = tmp_path / "n.png"
    Image.new("RGB", (300, 200), "blue").save(photo)
    standin.add_file(photo, "File:Bill Gates newest upload.png", [])
    newest = _titles(standin, '"Bill Gates"', srsort="create_timestamp_desc")
    oldest = _titles(standin, '"Bill Gates"', srsort="create_timestamp_asc")
    assert newest[0] == "File:Bill Gates newest upload.png"
    assert oldest[-1] == "File:Bill Gates newest upload.png"
    assert sorted(newest) == sorted(oldest)


def test_haswbstatement_for_any_item(standin: StandIn, standin_catalog: Catalog) -> None:
    at_event = _titles(standin, f"haswbstatement:P180={EVENT} filetype:bitmap")
    assert set(at_event) == {"File:Bill Gates meets Prime Minister Modi.jpg",
                             "File:Barack Obama and Joe Biden, two people.jpg",
                             "File:Joe Biden and Barack Obama.jpg"}


def test_items_carry_their_commons_category_and_events(standin: StandIn,
                                                       standin_catalog: Catalog) -> None:
    gates = standin_catalog.person("bill_gates")
    claims = api(standin, "wikidata", action="wbgetentities", ids=gates.qid,
                 props="claims")["entities"][gates.qid]["claims"]
    assert claims["P373"][0]["mainsnak"]["datavalue"]["value"] == "Bill Gates"
    assert claims["P1344"][0]["mainsnak"]["datavalue"]["value"]["id"] == EVENT


def test_protection_is_served_and_enforced(standin: StandIn, standin_catalog: Catalog) -> None:
    page = standin_catalog.file("File:Bill Gates 3.jpg")

    def protection() -> list[dict[str, Any]]:
        return api(standin, action="query", prop="info", inprop="protection",
                   pageids=page.pageid, formatversion=2)["query"]["pages"][0]["protection"]

    assert protection() == []
    resp = requests.post(f"{standin.base_url}/_standin/protect", timeout=5,
                         json={"title": page.title, "level": "sysop"})
    assert resp.status_code == 200
    assert protection() == [{"type": "edit", "level": "sysop", "expiry": "infinity"}]
    token = standin.issue_token(TESTER)
    refused = requests.post(standin.urls.api("commons"), timeout=5, headers={
        "Authorization": f"Bearer {token}"}, data={
        "action": "wbeditentity", "id": f"M{page.pageid}", "format": "json",
        "data": '{"labels": {"en": {"language": "en", "value": "x"}}}',
        "token": standin.csrf_token(TESTER)}).json()
    assert refused["error"]["code"] == "permissiondenied"
    assert refused["error"]["messages"][0]["name"] == "protectedpagetext"
    standin.protect(page.title, "")
    assert protection() == []


def test_a_reupload_changes_sha1_size_and_thumbnails(standin: StandIn, standin_catalog: Catalog,
                                                     faces_dir: Path) -> None:
    page = standin_catalog.file("File:Bill Gates 3.jpg")

    def info() -> dict[str, Any]:
        return api(standin, action="query", prop="imageinfo", pageids=page.pageid,
                   iiprop="sha1|size|url|timestamp", iiurlwidth=120,
                   formatversion=2)["query"]["pages"][0]["imageinfo"][0]

    before = info()
    old_thumb = requests.get(before["thumburl"], timeout=5).content
    other = faces_dir / "people" / "tom_cruise" / "1.jpg"
    resp = requests.post(f"{standin.base_url}/_standin/files/reupload", timeout=5,
                         json={"title": page.title, "path": str(other)})
    assert resp.status_code == 200
    after = info()
    assert after["sha1"] == resp.json()["sha1"] == hashlib.sha1(
        other.read_bytes(), usedforsecurity=False).hexdigest() != before["sha1"]
    assert after["timestamp"] > before["timestamp"]
    assert requests.get(after["thumburl"], timeout=5).content != old_thumb
    standin.reset()
    assert info()["sha1"] == before["sha1"]


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/api-samples is not present")
@pytest.mark.parametrize(("index", "query"), [
    (0, '"Bill Gates" filetype:bitmap'),           # as the label search sends it
    (0, f"haswbstatement:P180={EVENT} filetype:bitmap"),
    (1, '"Bill Gates" filetype:bitmap')])
def test_source_queries_answer_in_the_recorded_shape(standin: StandIn, index: int,
                                                     query: str) -> None:
    recorded = exchange("commons_search_haswbstatement", index)
    params = dict(recorded["request"]["params"], srsearch=query, srlimit="2",
                  srsort="create_timestamp_desc")
    body = requests.get(standin.urls.api("commons"), params=params, timeout=5).json()
    assert body["query"]["search"], query
    assert differences(recorded["response"]["body"], body) == []
