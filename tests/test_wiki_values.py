"""Pure value handling in likeness.wiki: regions, titles and URLs, item references, statements.

No HTTP here; everything that talks to a server is tested against the stand-in elsewhere.
"""

import pytest

from likeness.wiki.region import box_to_region, format_region, parse_region
from likeness.wiki.statements import by_rank, parse_statements
from likeness.wiki.titles import category_title, file_path_url, file_title, page_url
from likeness.wiki.wikidata import parse_item_ref


@pytest.mark.parametrize(("text", "qid"), [
    ("Q42", "Q42"),
    ("q42", "Q42"),
    ("  Q42 ", "Q42"),
    ("wd:Q42", "Q42"),
    ("https://www.wikidata.org/wiki/Q42", "Q42"),
    ("http://www.wikidata.org/entity/Q42", "Q42"),
    ("https://m.wikidata.org/wiki/Q42#P18", "Q42"),
    ("https://www.wikidata.org/wiki/Special:EntityPage/Q42", "Q42"),
    ("//www.wikidata.org/wiki/Q192465", "Q192465"),
    ("Q0", None),
    ("Q", None),
    ("P180", None),
    ("M74698470", None),
    ("Q42x", None),
    ("https://evil.example/wiki/Q42", None),
    ("https://www.wikidata.org/wiki/Q42/../P1", None),
    ("", None),
])
def test_parse_item_ref(text, qid):
    assert parse_item_ref(text) == qid


def test_region_format_and_parse_round_trip():
    assert format_region(8.5, 12.25, 30, 61.5) == "pct:8.5,12.25,30,61.5"
    assert parse_region("pct:8.5,12.25,30,61.5") == (8.5, 12.25, 30.0, 61.5)
    assert format_region(0, 0, 100, 100) == "pct:0,0,100,100"
    assert format_region(1 / 3 * 100, 0, 2 / 3 * 100, 50) == "pct:33.33,0,66.67,50"


@pytest.mark.parametrize("bad", ["8.5,12.25,30,61.5", "pct:1,2,3", "pct:-1,0,10,10",
                                 "pct:90,0,20,10", "pct:0,0,0,10", "full", ""])
def test_region_rejects_other_forms(bad):
    with pytest.raises(ValueError):
        parse_region(bad)


def test_box_to_region_is_scale_independent():
    # The same face on a 1280 px thumbnail and on the 6000 px original gives the same region.
    thumb = box_to_region(128, 96, 384, 480, 1280, 960)
    orig = box_to_region(600, 450, 1800, 2250, 6000, 4500)
    assert thumb == orig == "pct:10,10,20,40"
    # A box spilling over the edge is clipped to the image.
    assert box_to_region(-10, -10, 50, 50, 100, 100) == "pct:0,0,50,50"
    with pytest.raises(ValueError):
        box_to_region(10, 10, 10, 20, 100, 100)


@pytest.mark.parametrize(("raw", "title"), [
    ("foo_bar.jpg", "File:Foo bar.jpg"),
    ("File:Foo bar.jpg", "File:Foo bar.jpg"),
    ("image:foo.jpg", "File:Foo.jpg"),
    ("file:ß?&%+.jpg", "File:ß?&%+.jpg"),
])
def test_file_title(raw, title):
    assert file_title(raw) == title


def test_category_title():
    assert category_title("People of Example") == "Category:People of Example"
    assert category_title("category:foo__bar") == "Category:Foo bar"


def test_urls_encode_reserved_and_non_ascii_characters():
    base = "https://commons.wikimedia.org/wiki/"
    url = page_url(base, "File:A?b&c%d+e #1 Jasna Góra.jpg")
    assert url == ("https://commons.wikimedia.org/wiki/"
                   "File:A%3Fb%26c%25d%2Be_%231_Jasna_G%C3%B3ra.jpg")
    fp = file_path_url(base, "A?b.jpg", width=500)
    assert fp == "https://commons.wikimedia.org/wiki/Special:FilePath/A%3Fb.jpg?width=500"


def test_statements_accept_empty_list_and_object():
    assert parse_statements([]) == {}
    assert parse_statements({}) == {}
    with pytest.raises(ValueError):
        parse_statements("P180")


def test_statement_parsing_and_rank_order():
    def p18(guid, name, rank):
        return {"mainsnak": {"snaktype": "value", "property": "P18", "datatype": "commonsMedia",
                             "datavalue": {"type": "string", "value": name}},
                "type": "statement", "id": guid, "rank": rank}

    raw = {"P18": [p18("Q1$a", "Normal.jpg", "normal"), p18("Q1$b", "Old.jpg", "deprecated"),
                   p18("Q1$c", "Best.jpg", "preferred")],
           "P180": [{"mainsnak": {"snaktype": "somevalue", "property": "P180"},
                     "type": "statement", "id": "M1$d", "rank": "normal",
                     "qualifiers": {"P2677": [{"snaktype": "value", "property": "P2677",
                                               "hash": "h1",
                                               "datavalue": {"type": "string",
                                                             "value": "pct:1,2,3,4"}}]}}]}
    stmts = parse_statements(raw)
    assert [s.value for s in by_rank(stmts["P18"])] == ["Best.jpg", "Normal.jpg"]
    assert all(s.value_qid is None for s in stmts["P18"])
    unknown = stmts["P180"][0]
    assert (unknown.snaktype, unknown.value_qid, unknown.region) == ("somevalue", None,
                                                                    "pct:1,2,3,4")
    assert unknown.qualifier_hashes == {"P2677": ["h1"]}
