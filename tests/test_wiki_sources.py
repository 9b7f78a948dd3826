"""The reads behind candidate sources, re-upload checks and the sender's skips, against the
stand-in: an item's labels in every language, P373 and related items; capped, newest-first file
search; search counts; sha1s; edit protection; items about a person."""

from __future__ import annotations

from pathlib import Path

import pytest

from likeness.config import load_config
from likeness.wiki.commons import (
    edit_protections,
    file_sha1s,
    search_count,
    search_files,
)
from likeness.wiki.factory import make_clients
from likeness.wiki.wikidata import MAX_TERMS, items_about, source_facts
from standin.faces_catalog import EVENT, PORTRAIT


@pytest.fixture
def clients(standin):
    cfg = load_config(path="/nonexistent/config.yaml", environ={},
                      overrides=standin.config_overrides())
    return make_clients(cfg)


def test_source_facts_of_a_person(clients, standin_catalog):
    gates = standin_catalog.person("bill_gates")
    facts = source_facts(clients.wikidata, gates.qid)
    assert facts.terms == ["Bill Gates"]          # en, de and fr spell it alike: one term
    assert facts.commons_category == "Bill Gates" and facts.related == [EVENT]
    schroeder = source_facts(clients.wikidata, standin_catalog.person("gerhard_schroeder").qid)
    assert schroeder.related == [] and len(schroeder.terms) <= MAX_TERMS
    assert source_facts(clients.wikidata, "Q98765432") is None


def test_search_is_capped_newest_first_and_says_so(clients, standin, tmp_path: Path):
    from PIL import Image

    photo = tmp_path / "x.png"
    Image.new("RGB", (300, 200), "red").save(photo)
    standin.add_file(photo, "File:Bill Gates at a new event.png", [])
    query = '"Bill Gates" filetype:bitmap'
    total = search_count(clients.commons, query)
    every = search_files(clients.commons, query, 1000, newest_first=True)
    assert not every.capped and len(every.hits) == total > 3
    assert every.hits[0].title == "File:Bill Gates at a new event.png"   # the newest upload
    some = search_files(clients.commons, query, 3, newest_first=True, page_size=2)
    assert some.capped and [h.pageid for h in some.hits] == [h.pageid for h in every.hits[:3]]
    sent = standin.requests_log("commons.api", list="search", srsearch=query)
    assert sent[-1]["params"]["srsort"] == "create_timestamp_desc"


def test_sha1s_and_protection(clients, standin, standin_catalog):
    pages = [standin_catalog.file(f"File:Bill Gates {n}.jpg") for n in (3, 4)]
    assert file_sha1s(clients.commons, [p.pageid for p in pages] + [1]) == {
        p.pageid: p.sha1 for p in pages}
    standin.protect(pages[0].title, "sysop")
    assert edit_protections(clients.commons, [p.pageid for p in pages]) == {
        pages[0].pageid: ["sysop"], pages[1].pageid: []}


def test_items_about_a_person(clients, standin_catalog):
    gates = standin_catalog.person("bill_gates").qid
    assert items_about(clients.wikidata, [PORTRAIT, EVENT, "Q144"], gates) == [PORTRAIT]
    other = standin_catalog.person("joseph_biden").qid
    assert items_about(clients.wikidata, [PORTRAIT, EVENT], other) == []
