"""Commons reads against the stand-in: category crawl, categoryinfo, imageinfo batching and
missing files, depicts search, MediaInfo parsing; titles with ?&%+ and non-ASCII."""

import datetime as dt

import pytest

from likeness.config import load_config
from likeness.wiki.commons import (
    CategoryInfo,
    MediaInfo,
    Missing,
    category_info,
    category_members,
    get_mediainfo,
    image_infos,
    search_depicts,
    subcategories,
)
from likeness.wiki.factory import make_clients

UPLOADS = "Category:Files uploaded by Likeness Tester"
ODD_TITLE = "File:Cerkiew? Church & tower – 100% + more (Żółć).jpg"


@pytest.fixture
def api(standin):
    cfg = load_config(path="/nonexistent/config.yaml", environ={},
                      overrides=standin.config_overrides())
    return make_clients(cfg).commons


def iter_category_members(api, category, **kw):
    return [member for page in category_members(api, category, **kw) for member in page]


def test_category_crawl_follows_continuation(standin, standin_catalog, api):
    category = "Category:George W. Bush"
    expected = {f.title for f in standin_catalog.files_in(category)}
    members = list(iter_category_members(api, category, limit=7))
    assert {m.title for m in members} == expected
    assert len(members) == len(expected)           # nothing twice across pages
    assert all(m.type == "file" and m.ns == 6 and m.pageid > 0 for m in members)
    rows = standin.requests_log("commons.api", list="categorymembers")
    assert len(rows) == -(-len(expected) // 7)     # ceil: one request per page of 7
    assert "cmcontinue" not in rows[0]["params"]
    assert all("cmcontinue" in r["params"] for r in rows[1:])
    assert rows[0]["params"]["cmtype"] == "file|subcat"


def test_category_crawl_lists_subcats_first(standin_catalog, api):
    members = list(iter_category_members(api, "Likeness test files"))
    types = [m.type for m in members]
    assert types == sorted(types, key=lambda t: t != "subcat")
    subcats = {m.title for m in members if m.type == "subcat"}
    assert "Category:Likeness test people" in subcats and "Category:Likeness test empty" in subcats
    only_subcats = list(iter_category_members(api, "Category:Likeness test people",
                                              types=("subcat",), limit=4))
    assert len(only_subcats) == len(standin_catalog.people)
    assert {m.ns for m in only_subcats} == {14}
    assert sorted(subcategories(api, "Likeness test people")) == sorted(
        m.title.removeprefix("Category:") for m in only_subcats)


def test_non_ascii_category(standin, standin_catalog, api):
    members = list(iter_category_members(api, "Gerhard Schröder"))
    assert {m.title for m in members} == {
        f.title for f in standin_catalog.files_in("Category:Gerhard Schröder")}
    assert all("Schröder" in m.title for m in members)
    (row,) = standin.requests_log("commons.api", list="categorymembers")
    assert row["params"]["cmtitle"] == "Category:Gerhard Schröder"


def test_since_requests_timestamp_order(standin, api):
    since = dt.datetime(2021, 5, 1, 12, 0, 0)
    members = list(iter_category_members(api, "Category:Bill Gates", since=since))
    (row,) = standin.requests_log("commons.api", list="categorymembers")
    assert row["params"]["cmsort"] == "timestamp"
    assert row["params"]["cmdir"] == "newer"
    assert row["params"]["cmstart"] == "2021-05-01T12:00:00Z"
    stamps = [m.timestamp for m in members]
    assert all(stamps) and stamps == sorted(stamps)


def test_since_returns_only_newer_members(standin, standin_catalog, api):
    files = sorted(standin_catalog.files_in("Category:Bill Gates"), key=lambda f: f.timestamp)
    cut = files[len(files) // 2].timestamp
    members = list(iter_category_members(api, "Category:Bill Gates", types=("file",),
                                         since=cut, limit=3))
    expected = {f.title for f in files if f.timestamp >= cut}
    assert {m.title for m in members} == expected and len(members) == len(expected)
    assert len(standin.requests_log("commons.api", list="categorymembers")) == \
        -(-len(expected) // 3)


def test_category_info(standin_catalog, api):
    people = category_info(api, "Category:Likeness test people")
    assert people == CategoryInfo(files=0, subcats=len(standin_catalog.people), exists=True)
    gates = category_info(api, "Bill Gates")
    assert gates.files == len(standin_catalog.files_in("Category:Bill Gates"))
    assert gates.subcats == 1 and gates.exists        # Portraits of Bill Gates (a cycle)
    assert category_info(api, "Likeness test empty") == (0, 0, True)
    assert category_info(api, "No such category 8f3a") == (0, 0, False)


def test_image_infos_in_batches_of_50(standin, standin_catalog, api):
    files = standin_catalog.files_in(UPLOADS)[:120]
    infos, missing = image_infos(api, [f.pageid for f in files], thumb_width=320)
    assert missing == []
    assert [i.pageid for i in infos] == [f.pageid for f in files]     # request order
    by_id = {f.pageid: f for f in files}
    for info in infos:
        f = by_id[info.pageid]
        assert (info.title, info.width, info.height, info.mime, info.size) == (
            f.title, f.width, f.height, f.mime, f.size)
        assert info.thumb_width == min(320, f.width)
        assert info.thumb_height and info.thumb_url and info.url.startswith(standin.base_url)
    rows = standin.requests_log("commons.api", prop="imageinfo")
    assert [len(r["params"]["pageids"].split("|")) for r in rows] == [50, 50, 20]
    assert all("iicontinue" not in r["params"] for r in rows)


def test_missing_and_odd_titles(standin, standin_catalog, api):
    gates = standin_catalog.person("bill_gates").files[0]
    found, missing = image_infos(
        api, ["File:Definitely not here 123.jpg", gates, ODD_TITLE.removeprefix("File:"),
              "File:Bad<title>.jpg"], 500)
    assert [i.title for i in found] == [gates, ODD_TITLE]
    assert {(m.title, m.reason) for m in missing} >= {
        ("File:Definitely not here 123.jpg", "missing")}
    assert any(m.reason == "invalid" for m in missing)
    (row,) = standin.requests_log("commons.api", prop="imageinfo")
    assert ODD_TITLE in row["params"]["titles"].split("|")   # arrived intact, not split at &
    odd = found[1]
    assert odd.pageid == standin_catalog.file(ODD_TITLE).pageid


def test_search_depicts_pages_with_sroffset(standin, standin_catalog, api):
    gates = standin_catalog.person("bill_gates")
    expected = {f.pageid for f in standin_catalog.files_with_p180()
                if any(s.get("value") == gates.qid for s in f.sdc["statements"])}
    hits = search_depicts(api, gates.qid, limit=100, page_size=1)
    assert {h.pageid for h in hits} == expected
    rows = standin.requests_log("commons.api", list="search")
    assert rows[0]["params"]["srsearch"] == f"haswbstatement:P180={gates.qid}"
    assert rows[0]["params"]["srnamespace"] == "6"
    assert [r["params"].get("sroffset") for r in rows[1:]] == [
        str(i) for i in range(1, len(rows))]
    assert len(search_depicts(api, gates.qid, limit=2, page_size=1)) == 2
    with pytest.raises(ValueError):
        search_depicts(api, "Q42 OR haswbstatement:P31=Q5")


def test_get_mediainfo_shapes(standin_catalog, api):
    gates = standin_catalog.person("bill_gates")
    plain, with_region = (standin_catalog.file(t) for t in gates.files[:2])
    no_sdc = standin_catalog.files_without_sdc()[0]
    empty = standin_catalog.file("File:Couple (deepface test image).jpg")
    mids = [f"M{f.pageid}" for f in (plain, with_region, no_sdc, empty)]
    result = get_mediainfo(api, mids)
    assert set(result) == set(mids)
    a, b, c, d = (result[m] for m in mids)
    assert isinstance(a, MediaInfo) and a.title == plain.title and a.lastrevid > 0
    assert [s.value_qid for s in a.depicts()] == [gates.qid]
    assert a.depicts()[0].region is None and a.depicts()[0].id.startswith(mids[0] + "$")
    assert isinstance(b, MediaInfo) and b.depicts()[0].region == "pct:30,25,40,50"
    assert b.depicts()[0].qualifier_hashes["P2677"][0]
    assert c == Missing(mids[2])
    assert isinstance(d, MediaInfo) and d.statements == {} and d.depicts_qids() == set()


def test_get_mediainfo_somevalue_and_batches(standin, standin_catalog, api):
    files = standin_catalog.files_in(UPLOADS)[:70]
    result = get_mediainfo(api, [f"M{f.pageid}" for f in files])
    assert len(result) == 70
    rows = standin.requests_log("commons.api", action="wbgetentities")
    assert [len(r["params"]["ids"].split("|")) for r in rows] == [50, 20]
    somevalue = [f for f in standin_catalog.files_with_p180()
                 if any(s.get("snaktype") == "somevalue" for s in f.sdc["statements"])]
    if somevalue:
        mid = f"M{somevalue[0].pageid}"
        (stmt,) = get_mediainfo(api, [mid])[mid].depicts()
        assert stmt.snaktype == "somevalue" and stmt.value_qid is None
    with pytest.raises(ValueError):
        get_mediainfo(api, ["File:Foo.jpg"])
