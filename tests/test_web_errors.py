"""Error pages: the site's header and language, what happened, and what to do next (a non-member
is told to ask the owner for an invite); a crash gives a styled 500 without its details, and
the API keeps answering JSON."""

from __future__ import annotations

import pytest

from likeness.db import members
from tests import factories
from tests.fixtures.web import login


@pytest.fixture
def crashing_app(make_app):
    app = make_app()
    app.config["TESTING"] = False          # let Flask handle the crash as in production

    @app.get("/boom")
    def boom():  # noqa: ANN202 - a route only this test has
        raise RuntimeError("secret detail")

    boom.access = "public"
    return app


def test_a_non_member_is_told_to_ask_for_an_invite(web_app, engine):
    with engine.begin() as conn:
        owner, outsider = factories.user(conn), factories.user(conn)
        project = factories.project(conn, owner)
    client = web_app.test_client()
    login(client, outsider)
    response = client.get(f"/projects/{project}/label")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "You are not a member of this project" in page and "invite" in page
    assert 'href="/join"' in page and 'class="site-header"' in page
    german = client.get(f"/projects/{project}", headers={"Accept-Language": "de"})
    assert "Du bist kein Mitglied dieses Projekts" in german.get_data(as_text=True)


def test_a_labeller_on_an_owner_page_gets_a_way_back_to_the_project(web_app, engine):
    with engine.begin() as conn:
        owner, labeller = factories.user(conn), factories.user(conn)
        project = factories.project(conn, owner)
        members.add(conn, project, labeller, "labeller")
    client = web_app.test_client()
    login(client, labeller)
    response = client.get(f"/projects/{project}/settings",
                          headers={"Referer": f"http://localhost/projects/{project}/label"})
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and "Only the project&#39;s owner may do this" in page
    assert f'href="/projects/{project}"' in page
    assert f'href="/projects/{project}/label"' in page          # back where they came from


def test_not_found_is_a_styled_page_and_json_under_api(web_app):
    client = web_app.test_client()
    response = client.get("/no/such/page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and "Page not found" in page
    assert 'class="site-header"' in page and 'href="/"' in page
    api = client.get("/api/no/such")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


def test_a_crash_is_a_styled_500_without_its_details(crashing_app):
    client = crashing_app.test_client()
    response = client.get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in page and "secret detail" not in page
    assert "tools.likeness@toolforge.org" in page
    german = client.get("/boom", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Bei uns ist etwas schiefgegangen" in german
