"""Reads: category crawls with continuation and cycles, image info and thumbnails, the upload
host, entities, search, and the output rules (formatversion, errorformat)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from PIL import Image

from standin import Catalog, StandIn
from standin.catalog import GROUPS_CAT, NOFACE_CAT, PEOPLE_ROOT, ROOT_CAT

UPLOADS = "Category:Files uploaded by Likeness Tester"


def api(s: StandIn, site: str = "commons", **params: Any) -> dict[str, Any]:
    resp = requests.get(s.urls.api(site), params={"format": "json", **params}, timeout=10)
    assert resp.status_code == 200
    return resp.json()


def walk(s: StandIn, **params: Any) -> list[dict[str, Any]]:
    """Follow ``continue`` to the end, as a client must."""
    out, cont = [], {}
    while True:
        body = api(s, **params, **cont)
        out.append(body)
        if "continue" not in body:
            return out
        cont = body["continue"]


def crawl(s: StandIn, root: str) -> tuple[set[str], set[str], int]:
    """Breadth-first over subcategories (cmlimit=3 to force paging), remembering visits."""
    seen, files, queue, revisits = {root}, set(), [root], 0
    while queue:
        cat = queue.pop(0)
        for body in walk(s, action="query", list="categorymembers", cmtitle=cat,
                         cmtype="file|subcat", cmprop="ids|title|type", cmlimit=3,
                         formatversion=2):
            for m in body["query"]["categorymembers"]:
                if m["type"] == "file":
                    files.add(m["title"])
                elif m["title"] in seen:
                    revisits += 1
                else:
                    seen.add(m["title"])
                    queue.append(m["title"])
    return seen, files, revisits


def test_crawl_finds_every_file_through_nesting_and_a_cycle(standin: StandIn,
                                                            standin_catalog: Catalog) -> None:
    cats, files, revisits = crawl(standin, ROOT_CAT)
    assert {PEOPLE_ROOT, GROUPS_CAT, NOFACE_CAT, "Category:Portraits of Bill Gates"} <= cats
    assert revisits >= 1                               # Portraits of Bill Gates > Bill Gates
    expected = {f.title for f in standin_catalog.files}
    assert files == expected
    both = [f for f in standin_catalog.files_in(GROUPS_CAT)
            if any(c.startswith("Category:") and c not in (GROUPS_CAT, UPLOADS)
                   for c in f.categories)]
    assert len(both) >= 3                              # group photos also in people categories


def test_categorymembers_orders_subcats_first_and_rejects_bad_continue(standin: StandIn) -> None:
    body = api(standin, action="query", list="categorymembers", cmtitle="Category:Bill Gates",
               cmtype="file|subcat", cmprop="ids|title|type|sortkey|timestamp", cmlimit=3)
    members = body["query"]["categorymembers"]
    assert members[0]["type"] == "subcat" and members[0]["ns"] == 14
    assert all(m["type"] == "file" for m in members[1:])
    assert body["batchcomplete"] == "" and body["continue"]["continue"] == "-||"
    assert body["continue"]["cmcontinue"].startswith("file|")
    bad = api(standin, action="query", list="categorymembers", cmtitle="Category:Bill Gates",
              cmcontinue="nonsense")
    assert bad["error"]["code"] == "badcontinue"


def test_large_category_pages_at_500(standin: StandIn, standin_catalog: Catalog) -> None:
    pages = walk(standin, action="query", list="categorymembers", cmtitle=UPLOADS,
                 cmlimit="max", formatversion=2)
    assert [len(p["query"]["categorymembers"]) for p in pages][0] == 500
    assert sum(len(p["query"]["categorymembers"]) for p in pages) == len(standin_catalog.files)
    info = api(standin, action="query", prop="categoryinfo", titles=UPLOADS, formatversion=2)
    cat = info["query"]["pages"][0]["categoryinfo"]
    assert cat["files"] == len(standin_catalog.files) and cat["hidden"] is True


def test_generator_imageinfo_limits_thumbnails_to_50_per_request(standin: StandIn) -> None:
    bodies = walk(standin, action="query", generator="categorymembers", gcmtitle=UPLOADS,
                  gcmtype="file", gcmlimit=60, prop="imageinfo", iiprop="url|size",
                  iiurlwidth=120, formatversion=2)
    first = bodies[0]
    assert "batchcomplete" not in first and "iicontinue" in first["continue"]
    assert sum("imageinfo" in p for p in first["query"]["pages"]) == 50
    second = bodies[1]
    assert second["batchcomplete"] is True and "gcmcontinue" in second["continue"]
    merged = {p["pageid"] for b in bodies[:2] for p in b["query"]["pages"] if "imageinfo" in p}
    assert len(merged) == 60


def _info(s: StandIn, title: str, **params: Any) -> dict[str, Any]:
    body = api(s, action="query", prop="imageinfo", titles=title, formatversion=2,
               iiprop="url|size|mime|sha1", **params)
    return body["query"]["pages"][0]


def test_thumbnails_use_standard_widths_and_are_rendered(standin: StandIn) -> None:
    info = _info(standin, "File:Bill Gates 1.jpg", iiurlwidth=300)["imageinfo"][0]
    assert (info["width"], info["height"]) == (512, 767)
    assert "/330px-Bill_Gates_1.jpg" in info["thumburl"]          # the 330 bucket
    assert (info["thumbwidth"], info["thumbheight"]) == (300, 449)  # the requested scale
    image = Image.open(io.BytesIO(requests.get(info["thumburl"], timeout=5).content))
    assert image.size == (330, 494) and image.format == "JPEG"
    standin.configure(thumb_report="bucket")
    info = _info(standin, "File:Bill Gates 1.jpg", iiurlwidth=300)["imageinfo"][0]
    assert info["thumbwidth"] == 330
    whole = _info(standin, "File:Bill Gates 1.jpg", iiurlwidth=2000)["imageinfo"][0]
    assert whole["thumburl"] == whole["url"] and whole["thumbwidth"] == 512


def test_awkward_titles_round_trip(standin: StandIn, standin_catalog: Catalog) -> None:
    title = next(f.title for f in standin_catalog.files if "?" in f.title)
    assert all(ch in title for ch in "?&%+") and not title.isascii()
    page = _info(standin, title.replace(" ", "_"), iiurlwidth=250)
    assert page["title"] == title
    info = page["imageinfo"][0]
    assert "%3F" in info["url"] and "%26" in info["url"] and "%25" in info["url"]
    original = requests.get(info["url"], timeout=5)
    path = standin_catalog.image_path(standin_catalog.file(title))
    assert original.content == path.read_bytes()
    assert requests.get(info["thumburl"], timeout=5).headers["Content-Type"] == "image/jpeg"
    assert requests.get(info["descriptionurl"], timeout=5).status_code == 200


def test_missing_and_normalized_titles(standin: StandIn) -> None:
    body = api(standin, action="query", prop="imageinfo", titles="file:bill_Gates_1.jpg|"
               "File:No such file.jpg")
    assert body["query"]["normalized"][0]["to"] == "File:Bill Gates 1.jpg"
    pages = body["query"]["pages"]
    assert pages["-1"] == {"ns": 6, "title": "File:No such file.jpg", "missing": "",
                           "imagerepository": ""}


def test_upload_host_refuses_bad_sizes(standin: StandIn) -> None:
    info = _info(standin, "File:Bill Gates 1.jpg", iiurlwidth=250)["imageinfo"][0]
    too_big = info["thumburl"].replace("/250px-", "/600px-")
    assert requests.get(too_big, timeout=5).status_code == 400
    odd = info["thumburl"].replace("/250px-", "/301px-")
    assert requests.get(odd, timeout=5).status_code == 200
    standin.configure(strict_thumb_sizes=True)
    refused = requests.get(odd, timeout=5)
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert requests.get(standin.urls.upload + "/wikipedia/commons/0/00/Nope.jpg",
                        timeout=5).status_code == 404


def test_special_filepath_redirects_to_the_upload_host(standin: StandIn) -> None:
    url = standin.urls.wiki("commons") + "Special:FilePath/" + quote("Bill Gates 1.jpg")
    resp = requests.get(url, params={"width": 200}, allow_redirects=False, timeout=5)
    assert resp.status_code == 302 and "/250px-" in resp.headers["Location"]


def test_items_have_labels_p31_p18_and_sitelinks(standin: StandIn,
                                                 standin_catalog: Catalog) -> None:
    person = standin_catalog.person("gerhard_schroeder")
    item = api(standin, "wikidata", action="wbgetentities", ids=person.qid,
               formatversion=2)["entities"][person.qid]
    assert {item["labels"][lang]["value"] for lang in ("en", "de", "fr")} == {"Gerhard Schröder"}
    assert item["claims"]["P31"][0]["mainsnak"]["datavalue"]["value"]["id"] == "Q5"
    assert item["claims"]["P31"][0]["mainsnak"]["datatype"] == "wikibase-item"
    p18 = item["claims"]["P18"][0]["mainsnak"]["datavalue"]["value"]
    assert f"File:{p18}" == person.p18 and standin_catalog.file(person.p18)
    assert item["sitelinks"]["commonswiki"]["title"] == person.category
    only_de = api(standin, "wikidata", action="wbgetentities", ids=person.qid, languages="de",
                  props="labels")["entities"][person.qid]
    assert set(only_de) == {"type", "id", "labels"} and set(only_de["labels"]) == {"de"}
    dog = api(standin, "wikidata", action="wbgetentities", ids="Q144")["entities"]["Q144"]
    assert dog["claims"]["P31"][0]["mainsnak"]["datavalue"]["value"]["id"] != "Q5"


def test_entity_errors(standin: StandIn) -> None:
    assert api(standin, action="wbgetentities", ids="Q42")["error"]["code"] == "no-such-entity"
    bad = api(standin, "wikidata", action="wbgetentities", ids="Nonsense", formatversion=2,
              errorformat="plaintext")
    assert bad["errors"][0]["code"] == "no-such-entity"
    assert bad["errors"][0]["data"]["messages"][0]["html"] == "Could not find such an entity."
    missing = api(standin, "wikidata", action="wbgetentities", ids="Q999999999")
    assert missing["entities"]["Q999999999"] == {"id": "Q999999999", "missing": ""}


def test_wbsearchentities_by_label_alias_and_id(standin: StandIn,
                                                standin_catalog: Catalog) -> None:
    person = standin_catalog.person("gerhard_schroeder")

    def ids(search: str, **extra: Any) -> list[str]:
        body = api(standin, "wikidata", action="wbsearchentities", search=search,
                   language="en", **extra)
        return [h["id"] for h in body["search"]]

    assert ids("Gerhard Schr") == [person.qid]
    assert ids("gerhard schroeder") == [person.qid]      # the ASCII alias
    assert ids(person.qid) == [person.qid]
    page = api(standin, "wikidata", action="wbsearchentities", search="J", language="en",
               limit=2)
    assert len(page["search"]) == 2 and page["search-continue"] == 2


def test_haswbstatement_search_and_keywords(standin: StandIn, standin_catalog: Catalog) -> None:
    bill = standin_catalog.person("bill_gates").qid
    obama = standin_catalog.person("barack_obama").qid

    def titles(query: str) -> set[str]:
        body = api(standin, action="query", list="search", srsearch=query, srnamespace=6,
                   srlimit=50, formatversion=2)
        return {h["title"] for h in body["query"]["search"]}

    with_bill = {f.title for f in standin_catalog.files_with_p180()
                 if any(st.get("value") == bill for st in f.sdc["statements"])}
    assert titles(f"haswbstatement:P180={bill}") == with_bill and len(with_bill) >= 3
    either = titles(f"haswbstatement:P180={bill}|P180={obama}")
    assert with_bill < either
    in_groups = titles(f'haswbstatement:P180={bill} incategory:"Likeness test groups"')
    assert in_groups and in_groups < with_bill
    assert not titles(f"haswbstatement:P180={bill} -incategory:Bill_Gates")
    assert api(standin, action="query", list="search", srsearch=f"haswbstatement:P180={bill}"
               )["query"]["searchinfo"]["totalhits"] == 0   # namespace 0 by default


@pytest.mark.parametrize(("fv", "raw"), [("1", "Am\\u00e9lie"), ("2", "Amélie")])
def test_formatversion_escaping_and_flags(standin: StandIn, fv: str, raw: str) -> None:
    resp = requests.get(standin.urls.api("commons"), timeout=5, params={
        "action": "query", "list": "categorymembers", "cmtitle": PEOPLE_ROOT, "cmlimit": 1,
        "format": "json", "formatversion": fv})
    assert raw in resp.text
    assert resp.json()["batchcomplete"] == ("" if fv == "1" else True)


def test_timestamp_sort_lists_new_uploads_since_a_time(standin: StandIn, tmp_path: Path) -> None:
    common = {"action": "query", "list": "categorymembers", "cmtitle": "Category:Bill Gates",
              "cmsort": "timestamp", "cmprop": "ids|title|timestamp", "formatversion": 2}
    pages = walk(standin, **common, cmdir="newer", cmlimit=4)
    listed = [m for p in pages for m in p["query"]["categorymembers"]]
    stamps = [m["timestamp"] for m in listed]
    assert len(pages) > 2 and stamps == sorted(stamps) and len(listed) == len(set(
        m["pageid"] for m in listed))
    older = api(standin, **common, cmdir="older", cmlimit="max")["query"]["categorymembers"]
    assert [m["pageid"] for m in older] == [m["pageid"] for m in reversed(listed)]

    since = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert api(standin, **common, cmdir="ascending", cmstart=since)["query"][
        "categorymembers"] == []
    photo = tmp_path / "new.png"
    Image.new("RGB", (300, 200), "green").save(photo)
    standin.add_file(photo, "File:New upload of Bill Gates.png", ["Category:Bill Gates"])
    fresh = api(standin, **common, cmdir="ascending", cmstart=since)["query"]["categorymembers"]
    assert [m["title"] for m in fresh] == ["File:New upload of Bill Gates.png"]


def test_language_fallback_marks_the_borrowed_term(standin: StandIn,
                                                   standin_catalog: Catalog) -> None:
    qid = standin_catalog.person("kofi_annan").qid
    plain = api(standin, "wikidata", action="wbgetentities", ids=qid, languages="es|de",
                props="labels")["entities"][qid]["labels"]
    assert set(plain) == {"de"}
    labels = api(standin, "wikidata", action="wbgetentities", ids=qid, languages="es|de",
                 props="labels", languagefallback=1)["entities"][qid]["labels"]
    assert labels["es"] == {"language": "en", "value": "Kofi Annan", "for-language": "es"}
    assert labels["de"] == {"language": "de", "value": "Kofi Annan"}
