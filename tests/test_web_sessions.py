"""Sessions end on the server: logout and account deletion refuse every copy of the cookie, a
session names its user by Wikimedia id too, and a login lasts app.session_days however often it
is used."""

from __future__ import annotations

import time

from sqlalchemy import delete, update

from likeness.db.schema import users
from tests import factories
from tests.fixtures.web import ORIGIN, csrf_form, csrf_headers, login


def _copy(app, client):
    """A second browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _can_read_and_write(client, project_id: int) -> tuple[bool, bool]:
    read = client.get(f"/api/projects/{project_id}")
    write = client.patch(f"/api/projects/{project_id}", json={"depth": 2},
                         headers={"X-CSRF-Token": _csrf_of(client), "Origin": ORIGIN})
    return read.status_code == 200, write.status_code == 200


def _csrf_of(client) -> str:
    with client.session_transaction() as session:
        return session.get("csrf", "")


def test_a_session_copied_before_logout_is_refused_after_it(web_app, engine):
    with engine.begin() as conn:
        user = factories.user(conn, "Careful User")
        project_id = factories.project(conn, user)
    client = web_app.test_client()
    login(client, user)
    client.get("/")
    copied = _copy(web_app, client)
    other_device = web_app.test_client()
    login(other_device, user)
    assert _can_read_and_write(copied, project_id) == (True, True)

    response = client.post("/logout", data=csrf_form(client))
    assert response.status_code == 302
    assert client.get("/api/me").get_json()["user"] is None
    # The copy made before logout and the user's other sessions are all refused now.
    assert _can_read_and_write(copied, project_id) == (False, False)
    assert copied.get("/api/me").get_json()["user"] is None
    assert other_device.get(f"/api/projects/{project_id}").status_code == 401
    # Logging in again works, with a new session.
    login(client, user)
    assert _can_read_and_write(client, project_id) == (True, True)


def test_a_stale_session_cannot_log_everybody_out(web_app, engine):
    with engine.begin() as conn:
        user = factories.user(conn)
    old, current = web_app.test_client(), web_app.test_client()
    login(old, user)
    old.post("/logout", data=csrf_form(old))
    login(current, user)
    stale = _copy(web_app, current)
    with stale.session_transaction() as session:
        session["gen"] -= 1
    stale.post("/logout", data=csrf_form(stale))
    assert current.get("/api/me").get_json()["user"] is not None


def test_a_deleted_users_cookie_never_becomes_the_next_user(web_app, engine):
    with engine.begin() as conn:
        factories.user(conn)
        leaver = factories.user(conn, "Leaver")
    client = web_app.test_client()
    login(client, leaver)
    copied = _copy(web_app, client)
    assert client.post("/account/delete", data=csrf_form(client)).status_code == 302
    with engine.begin() as conn:
        newcomer = factories.user(conn, "Newcomer")
    assert newcomer != leaver
    assert copied.get("/api/me").get_json()["user"] is None


def test_a_session_is_bound_to_the_wikimedia_id(web_app, engine):
    """Even if a local id ever named another person (a restored backup), the session of the
    first one does not carry over to them."""
    with engine.begin() as conn:
        user = factories.user(conn, "First")
    client = web_app.test_client()
    login(client, user)
    assert client.get("/api/me").get_json()["user"]["username"] == "First"
    with engine.begin() as conn:
        conn.execute(delete(users).where(users.c.id == user))
        conn.execute(users.insert().values(id=user, wiki_user_id=999_999, username="Second"))
    assert client.get("/api/me").get_json()["user"] is None


def test_a_login_expires_after_session_days_however_active(make_app, engine):
    app = make_app(app={"session_days": 2})
    with engine.begin() as conn:
        user = factories.user(conn)
        project_id = factories.project(conn, user)
    client = app.test_client()
    login(client, user)
    with client.session_transaction() as session:
        session["at"] = int(time.time()) - 2 * 86400 + 60  # a minute left
    assert client.get(f"/api/projects/{project_id}").status_code == 200
    with client.session_transaction() as session:
        session["at"] -= 120
    assert client.get(f"/api/projects/{project_id}").status_code == 401
    assert client.patch(f"/api/projects/{project_id}", json={"depth": 3},
                        headers=csrf_headers(client)).status_code == 401
    # The cookie's own lifetime matches.
    assert app.permanent_session_lifetime.days == 2


def test_renaming_keeps_the_session(web_app, engine):
    with engine.begin() as conn:
        user = factories.user(conn, "Old Name")
    client = web_app.test_client()
    login(client, user)
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user).values(username="New Name"))
    assert client.get("/api/me").get_json()["user"]["username"] == "New Name"
