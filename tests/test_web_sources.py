"""Candidate sources in the web app (stand-in over real HTTP): the preview counts shown before
opting in, opting in on creation and in the settings (forms and JSON), bad input refused with a
clear message, and a new source crawled at once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from likeness.db import sources
from likeness.db.schema import jobs
from standin.faces_catalog import EVENT, EVENT_LABELS
from tests import factories
from tests.fixtures.web import csrf_form, csrf_headers, login


@pytest.fixture
def app(make_app, standin):
    return make_app(**standin.config_overrides(), sources={"search_files": 5})


@pytest.fixture
def owner(engine):
    with engine.begin() as conn:
        return factories.user(conn, "Owner One")


@pytest.fixture
def client(app, owner):
    client = app.test_client()
    login(client, owner)
    return client


def test_preview_counts_each_source_before_opting_in(client, standin, standin_catalog):
    gates = standin_catalog.person("bill_gates")
    body = client.get("/api/sources/preview", query_string={
        "item": gates.qid, "category": "Likeness test empty"}).get_json()
    assert body["qid"] == gates.qid and body["cap"] == 5
    by_kind = {s["kind"]: s for s in body["sources"]}
    category = by_kind["commons_category"]
    assert (category["category"], category["same_as_project"]) == ("Bill Gates", False)
    assert category["files"] == len(standin_catalog.files_in("Category:Bill Gates"))
    assert category["subcats"] == 1 and category["count"] == category["files"]
    search = by_kind["search"]
    assert search["terms"] == ["Bill Gates"] and search["total"] > 5
    assert (search["count"], search["capped"]) == (5, True)    # never more than the cap
    related = by_kind["related"]
    assert related["items"] == [{"qid": EVENT, "label": EVENT_LABELS["en"], "files": 3}]
    assert (related["count"], related["capped"]) == (3, False)
    # Its own category: the P373 source would add nothing.
    same = client.get("/api/sources/preview", query_string={
        "item": gates.qid, "category": "Category:Bill_Gates"}).get_json()["sources"][0]
    assert (same["same_as_project"], same["count"]) == (True, 0)
    # Labels in the language asked for.
    german = client.get("/api/sources/preview", query_string={"item": gates.qid},
                        headers={"Accept-Language": "de"}).get_json()
    assert german["sources"][2]["items"][0]["label"] == EVENT_LABELS["de"]


def test_preview_refuses_bad_input_clearly(client, standin):
    for query, code in (({}, "bad_item"), ({"item": "banana"}, "bad_item"),
                        ({"item": "Q42", "category": "a|b"}, "bad_category")):
        response = client.get("/api/sources/preview", query_string=query)
        assert response.status_code == 400 and response.get_json()["error"]["code"] == code
    missing = client.get("/api/sources/preview", query_string={"item": "Q98765432"})
    assert missing.status_code == 404
    standin.fault("wikidata.api", "http", times=None, status=503)
    down = client.get("/api/sources/preview", query_string={"item": "Q42"})
    assert down.status_code == 503 and down.get_json()["error"]["code"] == "wiki_unavailable"


def test_opting_in_on_creation_and_in_the_settings(client, engine, standin_catalog):
    gates = standin_catalog.person("bill_gates")
    created = client.post("/api/projects", headers=csrf_headers(client), json={
        "item": gates.qid, "category": "Likeness test empty",
        "sources": ["search", "related"]})
    assert created.status_code == 201
    project = created.get_json()["project"]
    assert [s["kind"] for s in project["sources"]] == ["search", "related"]
    project_id = project["id"]
    with engine.begin() as conn:  # the first crawl has run; a new source must crawl again
        conn.execute(jobs.delete())
    changed = client.patch(f"/api/projects/{project_id}", headers=csrf_headers(client),
                           json={"sources": ["commons_category"]})
    assert changed.status_code == 200
    assert [s["kind"] for s in changed.get_json()["project"]["sources"]] == ["commons_category"]
    with engine.connect() as conn:
        assert conn.execute(select(jobs.c.kind)).scalars().all() == ["crawl"]
    bad = client.patch(f"/api/projects/{project_id}", headers=csrf_headers(client),
                       json={"sources": ["everything"]})
    assert bad.status_code == 422 and "sources" in bad.get_json()["error"]["fields"]
    bad = client.patch(f"/api/projects/{project_id}", headers=csrf_headers(client),
                       json={"sources": "search"})
    assert bad.status_code == 422
    # The settings form: unticked boxes leave the project with no sources.
    page = client.get(f"/projects/{project_id}/settings").get_data(as_text=True)
    assert set(re.findall(r'name="sources" value="(\w+)" checked', page)) == {
        "commons_category"}
    saved = client.post(f"/projects/{project_id}/settings",
                        data={"depth": "1", "sources": ["related", "search"],
                              **csrf_form(client)})
    assert saved.status_code == 302
    with engine.connect() as conn:
        assert [s.kind for s in sources.of_project(conn, project_id)] == ["search", "related"]
    client.post(f"/projects/{project_id}/settings", data={"depth": "1", **csrf_form(client)})
    with engine.connect() as conn:
        assert sources.of_project(conn, project_id) == []


def test_the_new_project_form_offers_the_sources(client, standin_catalog, engine):
    page = client.get("/projects/new").get_data(as_text=True)
    assert page.count('name="sources"') == 3 and "js/sources.js" in page
    gates = standin_catalog.person("bill_gates")
    response = client.post("/projects/new", data={
        "item": gates.qid, "category": "Likeness test empty", "depth": "0",
        "sources": ["related"], **csrf_form(client)})
    assert response.status_code == 302
    project_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with engine.connect() as conn:
        assert [s.kind for s in sources.of_project(conn, project_id)] == ["related"]
