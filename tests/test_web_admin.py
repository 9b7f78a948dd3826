"""The admin status page and account deletion."""

import datetime as dt

from sqlalchemy import insert, select

from likeness.db import decisions, jobs, workers
from likeness.db.schema import edits, faces, images, project_members, projects, users, utcnow
from tests import factories as f
from tests.fixtures.web import csrf_form, login


def test_status_page_shows_workers_queues_errors_and_edit_rate(make_app, engine):
    with engine.begin() as conn:
        admin = f.user(conn, "Admin Person")
        someone = f.user(conn, "Someone")
        project_id = f.project(conn, admin)
        f.image(conn, project_id, status="failed", error_kind="truncated")
        workers.register(conn, "host:1:abc", "host", 1, "0.1.0")
        workers.register(conn, "host:2:dead", "host", 2, "0.1.0")
        conn.execute(workers.workers.update().where(workers.workers.c.id == "host:2:dead")
                     .values(heartbeat_at=utcnow() - dt.timedelta(hours=1)))
        jobs.enqueue(conn, "crawl", project_id=project_id)
        conn.execute(insert(edits).values(page_id=1, qid="Q42", title="File:A.jpg",
                                          state="done", updated_at=utcnow()))
        conn.execute(insert(edits).values(page_id=2, qid="Q42", title="File:B.jpg",
                                          state="failed", error_code="permissiondenied"))
        admin_wiki_id = conn.execute(select(users.c.wiki_user_id)
                                     .where(users.c.id == admin)).scalar()
    app = make_app(app={"admins": [admin_wiki_id]})
    client = app.test_client()
    login(client, admin)
    data = client.get("/api/admin/status").get_json()
    alive = {w["id"]: w["alive"] for w in data["workers"]}
    assert alive == {"host:1:abc": True, "host:2:dead": False}
    assert {"kind": "crawl", "state": "queued", "n": 1} in data["queues"]["jobs"]
    assert {"error_kind": "truncated", "n": 1} in data["errors"]["images"]
    assert {"error_code": "permissiondenied", "n": 1} in data["errors"]["edits"]
    assert data["edit_rate"] == {"last_hour": 1, "last_day": 1}
    page = client.get("/admin").get_data(as_text=True)
    assert "host:2:dead" in page and "truncated" in page
    assert 'href="/admin"' in page and 'href="/account"' in page  # linked from the header
    other = app.test_client()
    login(other, someone)
    assert other.get("/admin").status_code == 403
    assert 'href="/admin"' not in other.get("/account").get_data(as_text=True)
    assert other.get("/api/admin/status").get_json()["error"]["code"] == "not_admin"


def test_admins_are_matched_by_wikimedia_id_not_by_name(make_app, engine):
    """A renamed admin stays admin; whoever takes the old name does not become one."""
    with engine.begin() as conn:
        admin = f.user(conn, "Admin Person")
        admin_wiki_id = conn.execute(select(users.c.wiki_user_id)
                                     .where(users.c.id == admin)).scalar()
        conn.execute(users.update().where(users.c.id == admin).values(username="Renamed"))
        usurper = f.user(conn, "Admin Person")
    app = make_app(app={"admins": [admin_wiki_id]})
    client = app.test_client()
    login(client, admin)
    assert client.get("/api/admin/status").status_code == 200
    other = app.test_client()
    login(other, usurper)
    assert other.get("/api/admin/status").get_json()["error"]["code"] == "not_admin"


def test_deleting_an_account_removes_decisions_and_hands_projects_over(make_app, engine):
    with engine.begin() as conn:
        leaver, stayer = f.user(conn, "Leaver"), f.user(conn, "Stayer")
        shared = f.project(conn, leaver, category="Shared")
        conn.execute(insert(project_members).values(project_id=shared, user_id=stayer,
                                                    role="labeller"))
        alone = f.project(conn, leaver, category="Alone")
        face = f.face(conn, shared, f.image(conn, shared))
        f.face(conn, alone, f.image(conn, alone))
        decisions.record(conn, project_id=shared, face_id=face, user_id=stayer, answer="no")
        decisions.record(conn, project_id=shared, face_id=face, user_id=leaver, answer="yes")
        conn.execute(insert(edits).values(page_id=9, qid="Q42", title="File:C.jpg",
                                          user_id=leaver, project_id=shared))
        assert conn.execute(select(faces.c.label).where(faces.c.id == face)).scalar() == "yes"
    client = make_app().test_client()
    login(client, leaver)
    response = client.post("/account/delete", data=csrf_form(client),
                           headers={"Origin": "http://localhost"})
    assert response.status_code == 302
    with engine.connect() as conn:
        assert conn.execute(select(users.c.username)).scalars().all() == ["Stayer"]
        owners = dict(conn.execute(select(projects.c.id, projects.c.owner_id)).all())
        assert owners == {shared: stayer}  # handed over; the lonely project is gone
        assert conn.execute(select(project_members.c.role).where(
            project_members.c.user_id == stayer)).scalar() == "owner"
        assert conn.execute(select(images.c.project_id)).scalars().all() == [shared]
        # The face's label falls back to what the remaining member said.
        assert conn.execute(select(faces.c.label).where(faces.c.id == face)).scalar() == "no"
        assert conn.execute(select(edits.c.state)).scalar() == "cancelled"
    assert client.get("/account").status_code == 302  # logged out
