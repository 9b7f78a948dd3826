"""Rights up front, over real HTTP to the stand-in: meta=userinfo (blockinfo, rights limited by
the login's grants) says at login and before labelling that a blocked account, or a login
without the editing grant, cannot send edits, and what it can still do; sending is refused
before anything is queued."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select, update

from likeness.db import users as users_db
from likeness.db.schema import edits, users, utcnow
from likeness.edits import rights
from likeness.tokens import cipher_for
from tests import factories
from tests.fixtures.web import csrf_headers

BLOCKED = "Blocked Tester"
TESTER = "Likeness Tester"


def _user_with_tokens(engine, cfg, standin, name, grants=None):
    tokens = standin.issue_tokens(name, grants)
    with engine.begin() as conn:
        wiki_id = standin.world.users[name].central_id
        user = users_db.upsert(conn, wiki_id, name)
        users_db.store_tokens(conn, user.id, cipher_for(cfg), users_db.Tokens(
            tokens["access_token"], tokens["refresh_token"],
            utcnow() + dt.timedelta(hours=4)))
    return user.id


@pytest.fixture
def app(make_app, standin):
    return make_app(**standin.config_overrides())


def test_check_reads_userinfo_with_the_users_token_and_stores_the_answer(app, engine,
                                                                        standin):
    cfg = app.extensions["likeness.config"]
    fine = _user_with_tokens(engine, cfg, standin, TESTER)
    blocked = _user_with_tokens(engine, cfg, standin, BLOCKED)
    reader = _user_with_tokens(engine, cfg, standin, "Zoë Reviewer", grants=["basic"])
    assert rights.check(engine, cfg, fine).state == "ok"
    got = rights.check(engine, cfg, blocked)
    assert got.state == "blocked" and "Test block" in got.note and "infinite" in got.note
    assert rights.check(engine, cfg, reader).state == "no_grant"
    calls = standin.requests_log(route="commons.api")
    assert {c["params"].get("uiprop") for c in calls} == {"blockinfo|rights"}
    assert {c["user"] for c in calls} == {TESTER, BLOCKED, "Zoë Reviewer"}
    with engine.connect() as conn:
        stored = users_db.load_rights(conn, blocked)
    assert stored.state == "blocked" and stored.checked_at is not None


def test_an_unanswered_check_keeps_the_last_answer(app, engine, standin):
    cfg = app.extensions["likeness.config"]
    user = _user_with_tokens(engine, cfg, standin, BLOCKED)
    assert rights.check(engine, cfg, user).state == "blocked"
    standin.fault("commons.api", "http", status=503, times=None)
    assert rights.check(engine, cfg, user).state == "blocked"
    with engine.begin() as conn:
        nobody = factories.user(conn)      # no token at all: nothing is known
    assert rights.check(engine, cfg, nobody).state is None


def _dance(app, standin, user, extra=""):
    client = app.test_client()
    client.get("/login?next=/")
    authorize = client.get("/login/wikimedia").headers["Location"]
    approve = requests.get(authorize, allow_redirects=False, timeout=5)
    callback = requests.get(approve.headers["Location"] + "&standin_user=" + user + extra,
                            allow_redirects=False, timeout=5)
    parts = urlsplit(callback.headers["Location"])
    assert parse_qs(parts.query).get("code")
    client.get(f"{parts.path}?{parts.query}")
    return client


def test_login_tells_a_blocked_account_at_once_what_it_can_still_do(app, standin, engine):
    client = _dance(app, standin, BLOCKED)
    page = client.get("/").get_data(as_text=True)
    assert "Your account is blocked on Wikimedia Commons" in page and "Test block" in page
    assert "label faces" in page
    with engine.connect() as conn:
        state = conn.execute(select(users.c.edit_rights).where(
            users.c.username == BLOCKED)).scalar()
    assert state == "blocked"


def test_login_without_the_editing_grant_is_told_so(app, standin):
    client = _dance(app, standin, TESTER, extra="&standin_grants=basic")
    page = client.get("/").get_data(as_text=True)
    assert "does not allow Likeness to edit Commons" in page
    # A normal login says nothing of the kind.
    fine = _dance(app, standin, "Zoë Reviewer").get("/").get_data(as_text=True)
    assert "does not allow Likeness to edit" not in fine and "blocked" not in fine


def test_before_labelling_and_sending_an_old_answer_is_asked_again(app, standin, engine):
    cfg = app.extensions["likeness.config"]
    user = _user_with_tokens(engine, cfg, standin, BLOCKED)
    with engine.begin() as conn:
        project = factories.project(conn, user, qid="Q42")
        image = factories.image(conn, project, page_id=5)
        face = factories.face(conn, project, image, label="yes")
        factories.decision(conn, face, project, user, "yes")
        # Checked long ago, when the account could still edit.
        users_db.store_rights(conn, user, "ok", "")
        conn.execute(update(users).where(users.c.id == user).values(
            rights_checked_at=utcnow() - dt.timedelta(hours=1)))
    client = app.test_client()
    with client.session_transaction() as session:
        session["uid"] = user
    page = client.get(f"/projects/{project}/label").get_data(as_text=True)
    assert 'id="rights-banner"' in page and "blocked" in page
    refused = client.post(f"/api/projects/{project}/edits/send", json={},
                          headers=csrf_headers(client))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "cannot_edit"
    with engine.connect() as conn:
        assert conn.execute(select(edits.c.id)).all() == []
