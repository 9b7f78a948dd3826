"""Wikidata reads against the stand-in: items (labels by language, P31 = Q5, P18 by rank),
missing items, item search."""

import json

import pytest

from likeness.config import load_config
from likeness.wiki.factory import make_clients
from likeness.wiki.wikidata import Item, get_item, search_items

TESTER = "Likeness Tester"


@pytest.fixture
def clients(standin):
    cfg = load_config(path="/nonexistent/config.yaml", environ={},
                      overrides=standin.config_overrides())
    return make_clients(cfg, standin.issue_token(TESTER))


def test_person_item(standin, standin_catalog, clients):
    person = standin_catalog.person("gerhard_schroeder")
    item = get_item(clients.wikidata, person.qid, ["de", "en"])
    assert item == Item(qid=person.qid, label="Gerhard Schröder",
                        description="Person in den Likeness-Testfotos", is_human=True,
                        p18_files=[person.p18])
    (row,) = standin.requests_log("wikidata.api")
    assert row["params"]["ids"] == person.qid and row["params"]["languages"] == "de|en"


def test_non_human_and_missing_items(standin_catalog, clients):
    dog = get_item(clients.wikidata, "Q144", ["fr"])
    assert (dog.label, dog.is_human, dog.p18_files) == ("chien", False, [])
    assert get_item(clients.wikidata, "Q987654321") is None
    with pytest.raises(ValueError):
        get_item(clients.wikidata, "Q42|Q5")


def test_p18_by_rank_and_deprecated_p31(standin, standin_catalog, clients):
    person = standin_catalog.person("colin_powell")
    files = [f.removeprefix("File:") for f in person.files[1:4]]

    def stmt(prop, value, rank, kind="string"):
        dv = ({"type": "string", "value": value} if kind == "string" else
              {"type": "wikibase-entityid",
               "value": {"entity-type": "item", "numeric-id": int(value[1:]), "id": value}})
        return {"mainsnak": {"snaktype": "value", "property": prop, "datavalue": dv},
                "type": "statement", "rank": rank}

    data = {"claims": [stmt("P18", files[0], "deprecated"), stmt("P18", files[1], "preferred"),
                       stmt("P18", files[2], "normal")]}
    token = standin.csrf_token(TESTER)
    doc = clients.wikidata.post({"action": "wbeditentity", "id": person.qid,
                                 "data": json.dumps(data), "summary": "test", "token": token})
    assert doc["success"] == 1
    item = get_item(clients.wikidata, person.qid)
    # preferred first, then the normal ones in statement order; deprecated dropped
    assert item.p18_files == [f"File:{files[1]}", person.p18, f"File:{files[2]}"]

    # A deprecated "instance of human" does not make an item human.
    dog_data = {"claims": [stmt("P31", "Q5", "deprecated", kind="item")]}
    clients.wikidata.post({"action": "wbeditentity", "id": "Q144",
                           "data": json.dumps(dog_data), "summary": "test", "token": token})
    assert get_item(clients.wikidata, "Q144").is_human is False


def test_search_items(standin, standin_catalog, clients):
    person = standin_catalog.person("amelie_mauresmo")
    hits = search_items(clients.wikidata, "Amélie", "en", limit=5)
    assert person.qid in [h.qid for h in hits]
    hit = next(h for h in hits if h.qid == person.qid)
    assert hit.label == "Amélie Mauresmo"
    by_id = search_items(clients.wikidata, person.qid, "en")
    assert [h.qid for h in by_id][:1] == [person.qid]
    assert search_items(clients.wikidata, "   ", "en") == []
    rows = standin.requests_log("wikidata.api", action="wbsearchentities")
    assert rows[0]["params"]["type"] == "item" and rows[0]["params"]["limit"] == "5"
