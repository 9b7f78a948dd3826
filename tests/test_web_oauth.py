"""Login through the stand-in's OAuth 2.0 endpoints (real HTTP), token refresh with rotation,
owner-only token mode, and logout."""

from __future__ import annotations

import datetime as dt
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select, update

from likeness.config import Config
from likeness.db import users as users_db
from likeness.db.schema import users, utcnow
from likeness.tokens import LoginRequired, cipher_for, fetch_profile, fresh_access_token, refresh
from tests.fixtures.web import csrf_form

TESTER = "Likeness Tester"


def dance(app, standin, user: str = TESTER, next_url: str = "/projects/new"):
    """Log in through /login -> Flask-Dance -> stand-in authorize/approve -> callback."""
    client = app.test_client()
    response = client.get("/login", query_string={"next": next_url})
    assert response.status_code == 302 and response.headers["Location"] == "/login/wikimedia"
    response = client.get("/login/wikimedia")
    authorize = response.headers["Location"]
    assert authorize.startswith(standin.base_url + "/meta/w/rest.php/oauth2/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["client_id"] == [standin.client.client_id]
    assert query["redirect_uri"] == ["http://localhost/login/wikimedia/authorized"]
    # The browser's part, against the stand-in over real HTTP.
    approve = requests.get(authorize, allow_redirects=False, timeout=5)
    assert approve.status_code == 307
    callback = requests.get(approve.headers["Location"] + "&standin_user=" + user,
                            allow_redirects=False, timeout=5)
    assert callback.status_code == 302
    parts = urlsplit(callback.headers["Location"])
    assert parts.path == "/login/wikimedia/authorized"
    response = client.get(f"{parts.path}?{parts.query}")
    return client, response


@pytest.fixture
def oauth_app(make_app, standin):
    return make_app(**standin.config_overrides())


def _user_row(engine, name: str):
    with engine.connect() as conn:
        return conn.execute(select(users).where(users.c.username == name)).one()


def test_full_dance_logs_in_and_stores_tokens_encrypted(oauth_app, standin, engine):
    client, response = dance(oauth_app, standin)
    assert response.status_code == 302 and response.headers["Location"] == "/projects/new"
    me = client.get("/api/me").get_json()
    assert me["user"]["username"] == TESTER
    row = _user_row(engine, TESTER)
    assert row.wiki_user_id == 81001
    assert row.access_token and row.refresh_token and row.token_expires_at
    cfg: Config = oauth_app.extensions["likeness.config"]
    with engine.connect() as conn:
        tokens = users_db.load_tokens(conn, row.id, cipher_for(cfg))
    assert tokens.access_token.encode() not in bytes(row.access_token)
    assert tokens.refresh_token.encode() not in bytes(row.refresh_token)
    assert fetch_profile(cfg, tokens.access_token).username == TESTER
    # Exchanged once, with the client credentials, and the profile read with our User-Agent.
    exchanges = standin.requests_log(route="meta.access_token")
    assert len(exchanges) == 1
    assert exchanges[0]["user_agent"].startswith("Likeness")
    assert standin.requests_log(route="meta.profile")[0]["user_agent"].startswith("Likeness")
    # The session cookie holds no token.
    cookie = client.get_cookie("session").value
    assert tokens.access_token not in cookie and len(cookie) < 500


def test_login_refuses_an_unsafe_next(oauth_app, standin):
    _client, response = dance(oauth_app, standin, next_url="/\\evil.example/")
    assert response.headers["Location"] == "/"
    _client, response = dance(oauth_app, standin, next_url="//evil.example/")
    assert response.headers["Location"] == "/"


def test_cancelled_approval_logs_nobody_in(oauth_app, standin):
    client = oauth_app.test_client()
    authorize = client.get("/login/wikimedia").headers["Location"]
    approve = requests.get(authorize, allow_redirects=False, timeout=5)
    callback = requests.get(approve.headers["Location"] + "&standin_deny=1",
                            allow_redirects=False, timeout=5)
    parts = urlsplit(callback.headers["Location"])
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 302
    assert client.get("/api/me").get_json()["user"] is None


def test_callback_with_a_forged_state_is_refused(oauth_app, standin):
    client = oauth_app.test_client()
    client.get("/login/wikimedia")
    response = client.get("/login/wikimedia/authorized?code=abc&state=forged")
    assert response.status_code in (302, 400, 403, 500) and response.status_code != 200
    assert client.get("/api/me").get_json()["user"] is None


def test_logout_needs_csrf_and_ends_the_session(oauth_app, standin):
    client, _ = dance(oauth_app, standin)
    assert client.post("/logout").status_code == 400
    assert client.get("/api/me").get_json()["user"]["username"] == TESTER
    response = client.post("/logout", data=csrf_form(client))
    assert response.status_code == 302
    assert client.get("/api/me").get_json()["user"] is None


def _expire_soon(engine, user_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(
            token_expires_at=utcnow() + dt.timedelta(seconds=60)))


def test_refresh_rotates_and_stores_the_new_refresh_token(oauth_app, standin, engine):
    dance(oauth_app, standin)
    cfg = oauth_app.extensions["likeness.config"]
    row = _user_row(engine, TESTER)
    with engine.connect() as conn:
        before = users_db.load_tokens(conn, row.id, cipher_for(cfg))
    # Not close to expiry: no refresh.
    assert fresh_access_token(engine, cfg, row.id) == before.access_token
    assert len(standin.requests_log(route="meta.access_token")) == 1
    _expire_soon(engine, row.id)
    token = fresh_access_token(engine, cfg, row.id)
    with engine.connect() as conn:
        after = users_db.load_tokens(conn, row.id, cipher_for(cfg))
    assert token == after.access_token != before.access_token
    assert after.refresh_token != before.refresh_token
    assert after.expires_at > utcnow() + dt.timedelta(hours=3)
    assert fetch_profile(cfg, token).username == TESTER
    with pytest.raises(LoginRequired):  # the old refresh token was spent
        refresh(cfg, before.refresh_token)


def test_two_processes_never_spend_one_refresh_token(oauth_app, standin, engine):
    dance(oauth_app, standin)
    cfg = oauth_app.extensions["likeness.config"]
    user_id = _user_row(engine, TESTER).id
    _expire_soon(engine, user_id)
    seen_before = len(standin.requests_log(route="meta.access_token"))
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(fresh_access_token(engine, cfg, user_id))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors and len(results) == 4 and len(set(results)) == 1
    assert len(standin.requests_log(route="meta.access_token")) == seen_before + 1


def test_revoked_grant_means_log_in_again(oauth_app, standin, engine):
    dance(oauth_app, standin)
    cfg = oauth_app.extensions["likeness.config"]
    user_id = _user_row(engine, TESTER).id
    standin.world.oauth.revoke_user(TESTER)
    _expire_soon(engine, user_id)
    with pytest.raises(LoginRequired):
        fresh_access_token(engine, cfg, user_id)


def test_owner_only_token_logs_its_owner_in(make_app, standin, engine):
    token = standin.issue_token("Zoë Reviewer")
    app = make_app(wiki=standin.config_overrides()["wiki"], oauth={"owner_only_token": token})
    client = app.test_client()
    page = client.get("/login?next=/leaderboard")
    assert page.status_code == 200 and b"owner-only" in page.data
    assert "wikimedia.login" not in app.view_functions  # no consumer, no dance
    assert client.post("/login/owner", data={"next": "/leaderboard"}).status_code == 400
    response = client.post("/login/owner", data={"next": "/leaderboard", **csrf_form(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/leaderboard"
    assert client.get("/api/me").get_json()["user"]["username"] == "Zoë Reviewer"
    cfg = app.extensions["likeness.config"]
    user_id = _user_row(engine, "Zoë Reviewer").id
    assert fresh_access_token(engine, cfg, user_id) == token


def test_owner_only_with_a_bad_token_logs_nobody_in(make_app, standin):
    app = make_app(wiki=standin.config_overrides()["wiki"],
                   oauth={"owner_only_token": "not-a-token"})
    client = app.test_client()
    client.get("/login")
    response = client.post("/login/owner", data=csrf_form(client))
    assert response.status_code == 302
    assert client.get("/api/me").get_json()["user"] is None


def test_simultaneous_logins_each_get_their_own_user(oauth_app, standin):
    """Six logins at once, two users: each ends as its own user at its own next page."""
    names = [TESTER, "Zoë Reviewer"] * 3
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            client, response = dance(oauth_app, standin, user=names[i], next_url=f"/?n={i}")
            results[i] = client.get("/api/me").get_json()["user"]["username"]
            assert response.headers["Location"] == f"/?n={i}"
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(names))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert results == dict(enumerate(names))


def test_owner_only_login_is_refused_from_another_machine(make_app, standin):
    token = standin.issue_token("Zoë Reviewer")
    app = make_app(wiki=standin.config_overrides()["wiki"], oauth={"owner_only_token": token})
    client = app.test_client()
    client.get("/login")
    response = client.post("/login/owner", data=csrf_form(client),
                           environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 403
    assert client.get("/api/me").get_json()["user"] is None
    assert not standin.requests_log(route="meta.profile")  # the token was not even used


@pytest.mark.parametrize("proxy_hops, socket_addr, forwarded_for, allowed", [
    (0, "203.0.113.9", "127.0.0.1", False),   # a remote client naming itself local
    (1, "203.0.113.9", "127.0.0.1", False),   # a remote proxy: the socket is not local
    (0, "127.0.0.1", "203.0.113.9", False),   # an untrusted local proxy forwarding a stranger
    (1, "127.0.0.1", "203.0.113.9", False),   # a trusted local proxy forwarding a stranger
    (1, "127.0.0.1", "198.51.100.1, 127.0.0.1", True),   # only the trusted hop counts
    (0, "127.0.0.1", None, True),
])
def test_owner_only_login_trusts_the_socket_not_forwarded_headers(
        make_app, standin, proxy_hops, socket_addr, forwarded_for, allowed):
    token = standin.issue_token("Zoë Reviewer")
    app = make_app(wiki=standin.config_overrides()["wiki"], oauth={"owner_only_token": token},
                   app={"proxy_hops": proxy_hops})
    client = app.test_client()
    client.get("/login")
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = client.post("/login/owner", data=csrf_form(client), headers=headers,
                           environ_base={"REMOTE_ADDR": socket_addr})
    assert response.status_code == (302 if allowed else 403)
    me = client.get("/api/me").get_json()["user"]
    assert (me is not None and me["username"] == "Zoë Reviewer") is allowed
