"""Pure value handling in likeness.wiki: regions, titles and URLs, item references, statements.

No HTTP here; everything that talks to a server is tested against the stand-in elsewhere.
"""

import pytest

from likeness.wiki.statements import by_rank, parse_statements
from likeness.wiki.titles import category_title, file_path_url, file_title, page_url, upload_urls
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


def test_upload_urls_use_mediawikis_hashed_paths():
    thumb, original = upload_urls("https://upload.wikimedia.org/", "Example.jpg", 330)
    assert original == "https://upload.wikimedia.org/wikipedia/commons/a/a9/Example.jpg"
    assert thumb == ("https://upload.wikimedia.org/wikipedia/commons/thumb/a/a9/Example.jpg/"
                     "330px-Example.jpg")
    _, odd = upload_urls("https://upload.example", "File:Cerkiew? & tower 100%.jpg", 330)
    assert odd.endswith("/Cerkiew%3F_%26_tower_100%25.jpg")
