"""The edits API behind the 'Edits to Commons' page: what 'Send' would write (paged, with
regions as boxes), who may send, sending with the sender's id and one batch id, live counts,
grouped and paged results with reasons, cancel, retry, the owner's confirmed undo of a batch,
and a refusal up front for an account Commons says cannot edit."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from likeness.db import members
from likeness.db import users as users_db
from likeness.db.schema import edits, projects
from tests import factories
from tests.fixtures.web import csrf_headers, login


def _setup(engine, members_can_send=False, pages=(11, 12)):
    with engine.begin() as conn:
        owner = factories.user(conn, "Owner")
        labeller = factories.user(conn, "Labeller")
        project = factories.project(conn, owner, qid="Q42", members_can_send=members_can_send)
        members.add(conn, project, labeller, "labeller")
        for page in pages:
            image = factories.image(conn, project, page_id=page, thumb_url=f"/thumb/{page}.jpg",
                                    thumb_width=200, thumb_height=100)
            face = factories.face(conn, project, image, label="yes")
            factories.decision(conn, face, project, owner, "yes")
    return owner, labeller, project


def _client(app, user):
    client = app.test_client()
    login(client, user)
    return client


def _post(client, url, body=None):
    return client.post(url, json=body if body is not None else {}, headers=csrf_headers(client))


def test_summary_and_preview_say_what_send_will_do_and_how_long(make_app, engine):
    app = make_app(edits={"pace_seconds": 5})
    owner, _, project = _setup(engine, pages=(11, 12, 13))
    client = _client(app, owner)
    summary = client.get(f"/api/projects/{project}/edits").get_json()
    assert summary["preview"] == {"count": 3, "already": 0, "undone": 0,
                                  "estimate_seconds": 18}          # 3 x (5 s pace + 1 s)
    assert summary["can_send"] and summary["can_undo"]
    assert summary["rights"]["state"] == "unknown" and summary["sending"]["open"] == 0
    first = client.get(f"/api/projects/{project}/edits/preview?limit=2").get_json()
    assert [i["page_id"] for i in first["items"]] == [11, 12] and first["count"] == 3
    item = first["items"][0]
    assert item["region"] == "pct:10,20,30,40"
    assert item["box"] == {"left": 0.1, "top": 0.2, "width": 0.3, "height": 0.4}
    assert (item["thumb_url"], item["thumb_width"]) == ("/thumb/11.jpg", 200)
    assert item["file_url"].endswith("/File:Example_11.jpg")
    rest = client.get(f"/api/projects/{project}/edits/preview?limit=2"
                      f"&cursor={first['next_cursor']}").get_json()
    assert [i["page_id"] for i in rest["items"]] == [13] and rest["next_cursor"] is None


def test_owner_sends_with_own_account_in_one_batch_and_sees_it_queued(web_app, engine):
    owner, _, project = _setup(engine)
    client = _client(web_app, owner)
    response = _post(client, f"/api/projects/{project}/edits/send")
    assert response.status_code == 202
    body = response.get_json()
    assert (body["queued"], body["existing"]) == (2, 0) and len(body["batch_id"]) == 12
    with engine.connect() as conn:
        rows = conn.execute(select(edits.c.page_id, edits.c.user_id, edits.c.batch_id,
                                   edits.c.state, edits.c.region)).all()
    assert sorted(r.page_id for r in rows) == [11, 12]
    assert {(r.user_id, r.state, r.region, r.batch_id) for r in rows} == {
        (owner, "pending", "pct:10,20,30,40", body["batch_id"])}
    summary = client.get(f"/api/projects/{project}/edits").get_json()
    assert summary["preview"]["count"] == 0 and summary["preview"]["already"] == 2
    assert summary["sending"]["open"] == 2 and summary["counts"]["pending"] == 2
    queued = client.get(f"/api/projects/{project}/edits/list?group=open").get_json()
    assert [e["page_id"] for e in queued["edits"]] == [11, 12]
    assert queued["edits"][0]["sender"] == "Owner" and queued["edits"][0]["queued_here"]
    again = _post(client, f"/api/projects/{project}/edits/send").get_json()
    assert again["queued"] == 0 and again["existing"] == 2


def test_labeller_may_send_only_when_the_owner_allows(web_app, engine):
    _, labeller, project = _setup(engine)
    client = _client(web_app, labeller)
    assert client.get(f"/api/projects/{project}/edits").get_json()["can_send"] is False
    refused = _post(client, f"/api/projects/{project}/edits/send")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "wrong_role"
    with engine.begin() as conn:
        assert conn.execute(select(edits.c.id)).all() == []
        conn.execute(update(projects).values(members_can_send=True))
    assert _post(client, f"/api/projects/{project}/edits/send").status_code == 202
    with engine.connect() as conn:
        assert set(conn.execute(select(edits.c.user_id)).scalars()) == {labeller}


def test_an_account_commons_says_cannot_edit_is_refused_before_queueing(web_app, engine):
    owner, _, project = _setup(engine)
    with engine.begin() as conn:
        users_db.store_rights(conn, owner, "blocked", "Vandalism; expiry: infinite")
    client = _client(web_app, owner)
    summary = client.get(f"/api/projects/{project}/edits").get_json()
    assert summary["rights"]["state"] == "blocked"
    assert "blocked" in summary["rights"]["message"] and "Vandalism" in summary["rights"]["message"]
    for action in ("send", "retry"):
        refused = _post(client, f"/api/projects/{project}/edits/{action}")
        assert refused.status_code == 403
        assert refused.get_json()["error"]["code"] == "cannot_edit"
    with engine.connect() as conn:
        assert conn.execute(select(edits.c.id)).all() == []
    # Every page says so at once, with what the account can still do.
    page = client.get(f"/projects/{project}").get_data(as_text=True)
    assert 'id="rights-banner"' in page and "label faces" in page


def test_results_are_grouped_paged_and_explained(web_app, engine):
    owner, labeller, project = _setup(engine)
    with engine.begin() as conn:
        for n in range(5):
            conn.execute(insert(edits).values(
                page_id=100 + n, qid="Q42", title=f"File:Done {n}.jpg", project_id=project,
                user_id=owner, state="done", revision_id=9000 + n, statement_id=f"M{n}$X",
                created_statement=True, batch_id="aaaaaaaaaaaa"))
        conn.execute(insert(edits).values(
            page_id=22, qid="Q42", title="File:B.jpg", project_id=project, user_id=owner,
            state="failed", error_code="permissiondenied", error_message="blocked",
            retryable=False, batch_id="aaaaaaaaaaaa"))
    client = _client(web_app, labeller)
    summary = client.get(f"/api/projects/{project}/edits").get_json()
    assert (summary["counts"]["done"], summary["counts"]["failed"]) == (5, 1)
    first = client.get(f"/api/projects/{project}/edits/list?group=written&limit=3").get_json()
    assert [e["revision_id"] for e in first["edits"]] == [9004, 9003, 9002]
    assert first["edits"][0]["diff_url"].endswith("/Special:Diff/9004")
    rest = client.get(f"/api/projects/{project}/edits/list?group=written&limit=3"
                      f"&cursor={first['next_cursor']}").get_json()
    assert [e["revision_id"] for e in rest["edits"]] == [9001, 9000]
    assert rest["next_cursor"] is None
    (failed,) = client.get(f"/api/projects/{project}/edits/list?group=failed"
                           ).get_json()["edits"]
    assert failed["reason"]["text"].startswith("Commons refused the edit: the account is blocked")
    assert "Retry failed edits" in failed["reason"]["todo"]
    for bad in ("group=nope", "cursor=abc", "limit=0", "batch_id=xyz"):
        response = client.get(f"/api/projects/{project}/edits/list?{bad}")
        assert response.status_code == 400, bad
    # Retry puts the failure back in the queue, sent by whoever retried (the owner here).
    assert _post(client, f"/api/projects/{project}/edits/retry").status_code == 403
    owner_client = _client(web_app, owner)
    assert _post(owner_client, f"/api/projects/{project}/edits/retry").get_json()["queued"] == 1
    with engine.connect() as conn:
        row = conn.execute(select(edits.c.state, edits.c.user_id).where(
            edits.c.page_id == 22)).one()
    assert tuple(row) == ("pending", owner)


def test_cancel_stops_the_queued_edits(web_app, engine):
    owner, _, project = _setup(engine)
    client = _client(web_app, owner)
    batch = _post(client, f"/api/projects/{project}/edits/send").get_json()["batch_id"]
    assert _post(client, f"/api/projects/{project}/edits/cancel",
                 {"batch_id": "bad"}).status_code == 400
    response = _post(client, f"/api/projects/{project}/edits/cancel", {"batch_id": batch})
    assert response.get_json() == {"cancelled": 2}
    summary = client.get(f"/api/projects/{project}/edits").get_json()
    assert summary["counts"]["cancelled"] == 2 and summary["preview"]["count"] == 2


def test_undo_of_a_batch_is_owner_only_and_needs_the_confirmed_plan(web_app, engine):
    owner, labeller, project = _setup(engine)
    client = _client(web_app, owner)
    batch = _post(client, f"/api/projects/{project}/edits/send").get_json()["batch_id"]
    with engine.begin() as conn:
        conn.execute(update(edits).where(edits.c.page_id == 11).values(
            state="done", created_statement=True, statement_id="M11$A", revision_id=5))
    url = f"/api/projects/{project}/edits/batches/{batch}/undo"
    plan = client.get(url).get_json()
    assert (plan["remove"], plan["cancel"], plan["in_flight"]) == (1, 1, 0)
    assert [f["title"] for f in plan["files"]] == ["File:Example 11.jpg"]
    assert client.get(f"/api/projects/{project}/edits/batches/{'0' * 12}/undo"
                      ).status_code == 404
    assert client.get(f"/api/projects/{project}/edits/batches/xyz/undo").status_code == 400
    labeller_client = _client(web_app, labeller)
    assert _post(labeller_client, url, {"expect_remove": 1, "expect_cancel": 1}
                 ).status_code == 403
    assert _post(client, url, {"expect_remove": "1"}).status_code == 400
    stale = _post(client, url, {"expect_remove": 2, "expect_cancel": 0})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "plan_changed"
    done = _post(client, url, {"expect_remove": 1, "expect_cancel": 1})
    assert done.status_code == 202
    assert (done.get_json()["removals"], done.get_json()["cancelled"]) == (1, 1)
    with engine.connect() as conn:
        states = dict(conn.execute(select(edits.c.page_id, edits.c.state)).all())
        removal = conn.execute(select(edits.c.action, edits.c.user_id).where(
            edits.c.page_id == 11)).one()
    assert states == {11: "pending", 12: "cancelled"}
    assert tuple(removal) == ("remove", owner)
    batches = client.get(f"/api/projects/{project}/edits/batches").get_json()["batches"]
    assert {b["batch_id"]: b["counts"] for b in batches} == {
        done.get_json()["undo_batch_id"]: {"open": 1}, batch: {"cancelled": 1}}


def test_the_page_is_a_shell_on_the_json_api(web_app, engine):
    owner, _, project = _setup(engine)
    client = _client(web_app, owner)
    html = client.get(f"/projects/{project}/edits").get_data(as_text=True)
    assert 'id="edits"' in html and "js/edits.js" in html
    assert f"/api/projects/{project}/edits/send" in html
    assert "<form" not in html.split('id="edits"')[1]     # no HTML form posts: JSON only
