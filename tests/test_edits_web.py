"""The 'Edits to Commons' page: preview (count, sample, precision, exact values), who may send,
rows created with the sender's id and a batch id, retry, owner-only undo, progress JSON."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from likeness.db import members
from likeness.db.schema import edits, jobs, model_runs, projects
from tests import factories
from tests.fixtures.web import csrf_form, csrf_headers, login


def _setup(engine, members_can_send=False):
    with engine.begin() as conn:
        owner = factories.user(conn, "Owner")
        labeller = factories.user(conn, "Labeller")
        project = factories.project(conn, owner, qid="Q42", members_can_send=members_can_send)
        members.add(conn, project, labeller, "labeller")
        for page in (11, 12):
            image = factories.image(conn, project, page_id=page, thumb_url=f"/thumb/{page}.jpg",
                                    thumb_width=200, thumb_height=100)
            face = factories.face(conn, project, image, label="yes")
            factories.decision(conn, face, project, owner, "yes")
        conn.execute(insert(model_runs).values(project_id=project, precision_estimate=0.912))
    return owner, labeller, project


def test_owner_sees_preview_and_sends_with_own_account(web_app, engine):
    owner, _, project = _setup(engine)
    client = web_app.test_client()
    login(client, owner)
    page = client.get(f"/projects/{project}/edits")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Send 2 edits with my account" in html
    assert "91.2 %" in html
    assert html.count("pct:10,20,30,40") >= 4          # sample grid and the exact table
    assert 'viewBox="0 0 200 100"' in html and 'href="/thumb/11.jpg"' in html
    assert "File:Example 11.jpg (M11)" in html and "P180 = Q42" in html

    response = client.post(f"/projects/{project}/edits/send", data=csrf_form(client),
                           headers={"Origin": "http://localhost"})
    assert response.status_code == 302
    with engine.connect() as conn:
        rows = conn.execute(select(edits.c.page_id, edits.c.user_id, edits.c.batch_id,
                                   edits.c.state, edits.c.region)).all()
    assert sorted(r.page_id for r in rows) == [11, 12]
    assert {(r.user_id, r.state, r.region) for r in rows} == {(owner, "pending",
                                                               "pct:10,20,30,40")}
    assert len({r.batch_id for r in rows}) == 1
    again = client.get(f"/projects/{project}/edits").get_data(as_text=True)
    assert "Nothing new to send" in again and 'id="count-pending">2<' in again


def test_labeller_cannot_send_unless_the_owner_allows(web_app, engine):
    _, labeller, project = _setup(engine)
    client = web_app.test_client()
    login(client, labeller)
    html = client.get(f"/projects/{project}/edits").get_data(as_text=True)
    assert "Send 2 edits" not in html and "Only the owner sends" in html
    response = client.post(f"/projects/{project}/edits/send", data=csrf_form(client),
                           headers={"Origin": "http://localhost"})
    assert response.status_code == 302
    with engine.connect() as conn:
        assert conn.execute(select(edits.c.id)).all() == []
        conn.execute(update(projects).values(members_can_send=True))
        conn.commit()
    client.post(f"/projects/{project}/edits/send", data=csrf_form(client),
                headers={"Origin": "http://localhost"})
    with engine.connect() as conn:
        assert set(conn.execute(select(edits.c.user_id)).scalars()) == {labeller}


def test_undo_is_owner_only_and_queues_one_job(web_app, engine):
    owner, labeller, project = _setup(engine)
    client = web_app.test_client()
    login(client, labeller)
    refused = client.post(f"/projects/{project}/edits/undo", data=csrf_form(client),
                          headers={"Origin": "http://localhost"})
    assert refused.status_code == 403
    login(client, owner)
    for _ in range(2):
        client.post(f"/projects/{project}/edits/undo", data=csrf_form(client),
                    headers={"Origin": "http://localhost"})
    with engine.connect() as conn:
        rows = conn.execute(select(jobs.c.kind, jobs.c.project_id, jobs.c.user_id)).all()
    assert [tuple(r) for r in rows] == [("undo_edits", project, owner)]


def test_progress_json_lists_failures_with_reasons_and_done_revisions(web_app, engine):
    owner, labeller, project = _setup(engine)
    with engine.begin() as conn:
        conn.execute(insert(edits).values(
            page_id=21, qid="Q42", title="File:A.jpg", project_id=project, user_id=owner,
            state="done", revision_id=9001, statement_id="M21$X", created_statement=True))
        conn.execute(insert(edits).values(
            page_id=22, qid="Q42", title="File:B.jpg", project_id=project, user_id=owner,
            state="failed", error_code="permissiondenied", error_message="blocked",
            retryable=False))
    client = web_app.test_client()
    login(client, labeller)
    body = client.get(f"/api/projects/{project}/edits", headers=csrf_headers(client)).get_json()
    assert body["counts"]["done"] == 1 and body["counts"]["failed"] == 1
    assert body["done"][0]["revision_url"].endswith("Special:Diff/9001")
    assert (body["failed"][0]["error_code"], body["failed"][0]["retryable"]) == (
        "permissiondenied", False)
    assert body["can_send"] is False
    html = client.get(f"/projects/{project}/edits").get_data(as_text=True)
    assert "Special:Diff/9001" in html and "permissiondenied" in html

    login(client, owner)
    client.post(f"/projects/{project}/edits/retry", data=csrf_form(client),
                headers={"Origin": "http://localhost"})
    with engine.connect() as conn:
        state = conn.execute(select(edits.c.state).where(edits.c.page_id == 22)).scalar_one()
    assert state == "pending"
