"""Everything that comes from the wikis (labels, descriptions, category names, user names) or
from people (form values) is escaped on every page that shows it."""

from __future__ import annotations

import pytest

from likeness.db import invites, members
from tests import factories
from tests.fixtures.web import csrf_form, login

PAYLOADS = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
]
RAW_MARKERS = ("<script>alert", "<img src=x", "<svg/onload")


def assert_escaped(html: str) -> None:
    for marker in RAW_MARKERS:
        assert marker not in html
    assert 'onerror=alert(1)>' not in html.replace("&gt;", "")  # never an unescaped tag


@pytest.fixture
def app(make_app, standin):
    return make_app(**standin.config_overrides())


def test_payloads_in_wikidata_labels_and_descriptions(app, standin, standin_catalog, engine):
    person = standin_catalog.person("bill_gates")
    entity = standin.world.wikidata[person.qid]
    entity.labels["en"] = PAYLOADS[0]  # the stand-in's state is reset after the test
    entity.descriptions["en"] = PAYLOADS[1]
    with engine.begin() as conn:
        user = factories.user(conn, PAYLOADS[2])
    client = app.test_client()
    login(client, user)
    item = client.get(f"/api/items/{person.qid}").get_json()["item"]
    assert item["label"] == PAYLOADS[0]  # JSON carries the text as it is...
    response = client.post("/projects/new", data={
        "item": person.qid, "category": person.category, **csrf_form(client)})
    assert response.status_code == 302
    project_id = int(response.headers["Location"].rsplit("/", 1)[1])
    for url in ("/", f"/projects/{project_id}", f"/projects/{project_id}/settings",
                f"/projects/{project_id}/members", f"/projects/{project_id}/leaderboard",
                f"/projects/{project_id}/invites", "/leaderboard"):
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.get_data(as_text=True)
        assert_escaped(html)  # ...and HTML only ever escaped
    assert "&lt;script&gt;alert" in client.get(f"/projects/{project_id}").get_data(as_text=True)


@pytest.mark.parametrize("payload", PAYLOADS + ['Quote" autofocus onfocus="alert(1)'])
def test_payloads_in_category_names_and_form_values(web_app, engine, payload):
    with engine.begin() as conn:
        user = factories.user(conn)
        other = factories.user(conn, payload)
        project_id = factories.project(conn, user, category=payload)
        members.add(conn, project_id, other)
        code, _ = invites.create(conn, project_id, user)
    client = web_app.test_client()
    login(client, user)
    for url in ("/", f"/projects/{project_id}", f"/projects/{project_id}/members",
                f"/join/{code}"):
        html = client.get(url).get_data(as_text=True)
        assert_escaped(html)
        assert 'onfocus="alert(1)' not in html
    form = client.post("/projects/new", data={"item": payload, "category": payload,
                                              "depth": payload, **csrf_form(client)})
    assert form.status_code == 422
    html = form.get_data(as_text=True)
    assert_escaped(html)
    assert 'onfocus="alert(1)' not in html


def test_json_answers_are_not_sniffed_as_html(web_app, engine):
    with engine.begin() as conn:
        user = factories.user(conn, PAYLOADS[0])
    client = web_app.test_client()
    login(client, user)
    response = client.get("/api/me")
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
