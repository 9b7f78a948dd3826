"""Invite codes: unguessable, hashed at rest, expiry, use count, revocation, guessing refused,
joining by code and by link, members, leaving."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select, update

from likeness.db import invites, members, schema
from likeness.db.schema import utcnow
from tests import factories
from tests.fixtures.web import csrf_form, csrf_headers, login


@pytest.fixture
def world(engine):
    with engine.begin() as conn:
        owner = factories.user(conn, "Owner")
        guest = factories.user(conn, "Guest")
        third = factories.user(conn, "Third")
        project_id = factories.project(conn, owner)
    return {"owner": owner, "guest": guest, "third": third, "project_id": project_id}


def _client(app, user_id):
    client = app.test_client()
    login(client, user_id)
    return client


def _create(app, world, **options):
    client = _client(app, world["owner"])
    response = client.post(f"/api/projects/{world['project_id']}/invites", json=options,
                           headers=csrf_headers(client))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_codes_are_long_random_and_stored_only_as_a_hash(web_app, world, engine):
    created = [_create(web_app, world) for _ in range(3)]
    codes = [c["code"] for c in created]
    assert len(set(codes)) == 3 and all(len(code) >= 32 for code in codes)  # >= 192 bits
    assert created[0]["link"] == f"http://localhost/join/{codes[0]}"
    with engine.connect() as conn:
        rows = conn.execute(select(schema.invites)).all()
    stored = " ".join(str(value) for row in rows for value in row)
    assert not any(code in stored for code in codes)
    assert {row.code_hash for row in rows} == {invites.hash_code(code) for code in codes}
    listed = _client(web_app, world["owner"]).get(
        f"/api/projects/{world['project_id']}/invites").get_json()["invites"]
    assert {i["hint"] for i in listed} == {code[:6] for code in codes}
    assert "code" not in listed[0]


def test_join_by_link_then_member_list_and_leaving(web_app, world):
    code = _create(web_app, world)["code"]
    guest = _client(web_app, world["guest"])
    page = guest.get(f"/join/{code}")
    assert page.status_code == 200 and "Douglas Adams" in page.get_data(as_text=True)
    response = guest.post("/join", data={"code": code, **csrf_form(guest)})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/projects/{world['project_id']}"
    listed = guest.get(f"/api/projects/{world['project_id']}/members").get_json()["members"]
    assert {(m["username"], m["role"]) for m in listed} == {("Owner", "owner"),
                                                            ("Guest", "labeller")}
    # A labeller is not an owner.
    assert guest.get(f"/api/projects/{world['project_id']}/invites").status_code == 403
    left = guest.post(f"/api/projects/{world['project_id']}/leave", headers=csrf_headers(guest))
    assert left.status_code == 204
    assert guest.get(f"/api/projects/{world['project_id']}").status_code == 403
    owner = _client(web_app, world["owner"])
    assert owner.post(f"/api/projects/{world['project_id']}/leave",
                      headers=csrf_headers(owner)).status_code == 409


def test_anonymous_link_goes_to_login_and_back(web_app, world):
    code = _create(web_app, world)["code"]
    response = web_app.test_client().get(f"/join/{code}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next=%2Fjoin%2F{code}"


def test_use_count_is_spent_once_per_new_member(web_app, world, engine):
    code = _create(web_app, world, uses=1)["code"]
    guest = _client(web_app, world["guest"])
    assert guest.post("/api/join", json={"code": code},
                      headers=csrf_headers(guest)).get_json()["joined"] is True
    # Joining again spends nothing and is not an error.
    again = guest.post("/api/join", json={"code": code}, headers=csrf_headers(guest))
    assert again.status_code == 200 and again.get_json()["joined"] is False
    third = _client(web_app, world["third"])
    refused = third.post("/api/join", json={"code": code}, headers=csrf_headers(third))
    assert refused.status_code == 410
    assert refused.get_json()["error"]["code"] == "invite_used_up"
    with engine.connect() as conn:
        assert members.role_of(conn, world["project_id"], world["third"]) is None


def test_expired_and_revoked_codes_are_refused(web_app, world, engine):
    expiring = _create(web_app, world, expires_in_days=1)
    revoked = _create(web_app, world)
    with engine.begin() as conn:
        conn.execute(update(schema.invites).where(
            schema.invites.c.id == expiring["invite"]["id"]).values(
            expires_at=utcnow() - dt.timedelta(seconds=1)))
    owner = _client(web_app, world["owner"])
    url = f"/api/projects/{world['project_id']}/invites/{revoked['invite']['id']}"
    assert owner.delete(url, headers=csrf_headers(owner)).status_code == 204
    assert owner.delete(url, headers=csrf_headers(owner)).status_code == 404
    guest = _client(web_app, world["guest"])
    for created, reason in ((expiring, "invite_expired"), (revoked, "invite_revoked")):
        response = guest.post("/api/join", json={"code": created["code"]},
                              headers=csrf_headers(guest))
        assert response.status_code == 410 and response.get_json()["error"]["code"] == reason
    assert guest.get(f"/join/{revoked['code']}").status_code == 404
    states = {i["id"]: i["state"] for i in owner.get(
        f"/api/projects/{world['project_id']}/invites").get_json()["invites"]}
    assert states == {expiring["invite"]["id"]: "expired", revoked["invite"]["id"]: "revoked"}


def test_guessing_is_refused(web_app, world):
    code = _create(web_app, world)["code"]
    guesser = _client(web_app, world["guest"])
    statuses = [guesser.post("/api/join", json={"code": f"guess-{i}"},
                             headers=csrf_headers(guesser)).status_code for i in range(8)]
    assert statuses[:5] == [404] * 5 and set(statuses[5:]) == {429}
    # Even the right code is refused while the limit holds, through every way in.
    response = guesser.post("/api/join", json={"code": code}, headers=csrf_headers(guesser))
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert guesser.post("/join", data={"code": code, **csrf_form(guesser)}).status_code == 429
    assert guesser.get(f"/join/{code}").status_code == 429


def test_two_people_racing_for_the_last_use(engine, world):
    with engine.begin() as conn:
        code, _ = invites.create(conn, world["project_id"], world["owner"], uses=1)
    outcomes: list[str] = []

    def join(user_id: int) -> None:
        try:
            with engine.begin() as conn:
                invites.redeem(conn, code, user_id)
            outcomes.append("joined")
        except invites.InviteError as exc:
            outcomes.append(exc.reason)

    threads = [threading.Thread(target=join, args=(world[name],)) for name in ("guest", "third")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) == ["joined", "used_up"]


def test_invite_options_are_validated(web_app, world):
    owner = _client(web_app, world["owner"])
    url = f"/api/projects/{world['project_id']}/invites"
    for options in ({"uses": 0}, {"uses": "many"}, {"expires_in_days": -1},
                    {"expires_in_days": 10_000}):
        response = owner.post(url, json=options, headers=csrf_headers(owner))
        assert response.status_code == 422, options


def test_invite_page_shows_the_link_once(web_app, world):
    owner = _client(web_app, world["owner"])
    response = owner.post(f"/projects/{world['project_id']}/invites",
                          data={"uses": "3", **csrf_form(owner)})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "http://localhost/join/" in page
    link = page.split("http://localhost/join/", 1)[1].split('"', 1)[0]
    later = owner.get(f"/projects/{world['project_id']}/invites").get_data(as_text=True)
    assert link not in later and link[:6] in later


def test_owner_removes_a_labeller(web_app, world, engine):
    with engine.begin() as conn:
        members.add(conn, world["project_id"], world["guest"])
    owner = _client(web_app, world["owner"])
    response = owner.post(f"/projects/{world['project_id']}/members/{world['guest']}/remove",
                          data=csrf_form(owner))
    assert response.status_code == 302
    with engine.connect() as conn:
        assert members.role_of(conn, world["project_id"], world["guest"]) is None
    # The owner cannot be removed.
    url = f"/api/projects/{world['project_id']}/members/{world['owner']}"
    assert owner.delete(url, headers=csrf_headers(owner)).status_code == 404
