"""The stand-in's Meta OAuth 2.0, driven by a real client library (requests-oauthlib)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests_oauthlib import OAuth2Session

from standin import StandIn

CALLBACK = "http://127.0.0.1:9/auth/callback"   # never contacted: we read the redirect


@pytest.fixture(autouse=True)
def _http_callbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")   # the stand-in speaks plain http


def _urls(s: StandIn) -> tuple[str, str, str]:
    base = f"{s.urls.oauth}/oauth2"
    return f"{base}/authorize", f"{base}/access_token", f"{base}/resource/profile"


def _browser(url: str) -> str:
    """Follow Meta's redirects like a browser until the tool's callback; return its URL."""
    for _ in range(5):
        resp = requests.get(url, allow_redirects=False, timeout=5)
        assert resp.status_code in (302, 307), resp.text[:200]
        url = resp.headers["Location"]
        if url.startswith(CALLBACK):
            return url
    raise AssertionError("no redirect to the callback")


def test_authorization_code_refresh_rotation_and_profile(standin: StandIn) -> None:
    authorize, token_url, profile_url = _urls(standin)
    client = standin.client
    session = OAuth2Session(client.client_id, redirect_uri=CALLBACK, pkce="S256")
    url, state = session.authorization_url(authorize)
    standin.set_next_user("Zoë Reviewer")

    callback = _browser(url)
    assert parse_qs(urlsplit(callback).query)["state"] == [state]
    token = session.fetch_token(token_url, client_secret=client.client_secret,
                                authorization_response=callback)
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 14400
    assert token["access_token"].count(".") == 2            # JWT-shaped, like Wikimedia's
    profile = session.get(profile_url).json()
    assert profile["username"] == "Zoë Reviewer"
    assert profile["sub"] == str(standin.world.users["Zoë Reviewer"].central_id)
    assert profile["grants"] == ["basic", "editpage"]

    first_refresh, first_access = token["refresh_token"], token["access_token"]
    new = session.refresh_token(token_url, refresh_token=first_refresh,
                                client_id=client.client_id, client_secret=client.client_secret)
    assert new["refresh_token"] != first_refresh
    assert new["access_token"] != first_access
    assert session.get(profile_url).json()["username"] == "Zoë Reviewer"

    reused = requests.post(token_url, timeout=5, data={
        "grant_type": "refresh_token", "refresh_token": first_refresh,
        "client_id": client.client_id, "client_secret": client.client_secret})
    assert reused.status_code == 401
    assert reused.json()["error"] == "invalid_request"
    assert reused.json()["hint"] == "Token has been revoked"
    old = requests.get(profile_url, headers={"Authorization": f"Bearer {first_access}"},
                       timeout=5)
    assert old.status_code == 401 and old.json()["error"] == "access_denied"


def test_bearer_token_identifies_the_user_on_the_action_api(standin: StandIn) -> None:
    token = standin.issue_token("Likeness Tester")
    api = standin.urls.api("commons")
    params = {"action": "query", "meta": "userinfo|tokens", "format": "json"}
    me = requests.get(api, params=params, headers={"Authorization": f"Bearer {token}"},
                      timeout=5).json()["query"]
    assert me["userinfo"] == {"id": 70001, "name": "Likeness Tester"}
    assert me["tokens"]["csrftoken"].endswith("+\\") and len(me["tokens"]["csrftoken"]) == 42
    anon = requests.get(api, params=params, timeout=5).json()["query"]
    assert anon["userinfo"]["id"] == 0 and "anon" in anon["userinfo"]
    assert anon["tokens"]["csrftoken"] == "+\\"
    wikidata = requests.get(standin.urls.api("wikidata"), params=params, timeout=5,
                            headers={"Authorization": f"Bearer {token}"}).json()
    assert wikidata["query"]["userinfo"]["name"] == "Likeness Tester"


def test_denied_approval_returns_an_error_to_the_callback(standin: StandIn) -> None:
    authorize, _, _ = _urls(standin)
    session = OAuth2Session(standin.client.client_id, redirect_uri=CALLBACK)
    url, state = session.authorization_url(authorize)
    standin.set_next_user(None, deny=True)
    query = parse_qs(urlsplit(_browser(url)).query)
    assert query["error"] == ["unauthorized_client"]
    assert query["state"] == [state]
    assert "code" not in query


def test_query_parameter_picks_the_user_and_the_page_lists_users(standin: StandIn) -> None:
    authorize, token_url, profile_url = _urls(standin)
    session = OAuth2Session(standin.client.client_id, redirect_uri=CALLBACK)
    url, _ = session.authorization_url(authorize)
    approve = requests.get(url, allow_redirects=False, timeout=5).headers["Location"]
    page = requests.get(approve, timeout=5)
    assert page.status_code == 200
    assert "Allow as Likeness Tester" in page.text and "Cancel" in page.text

    callback = _browser(approve + "&standin_user=Blocked+Tester")
    session.fetch_token(token_url, client_secret=standin.client.client_secret,
                        authorization_response=callback)
    profile = session.get(profile_url).json()
    assert profile["username"] == "Blocked Tester" and profile["blocked"] is True


def test_foreign_redirect_uri_and_wrong_secret_are_refused(standin: StandIn) -> None:
    authorize, token_url, _ = _urls(standin)
    resp = requests.get(authorize, allow_redirects=False, timeout=5, params={
        "response_type": "code", "client_id": standin.client.client_id, "state": "s",
        "redirect_uri": "https://evil.example/callback"})
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
    resp = requests.post(token_url, timeout=5, data={
        "grant_type": "authorization_code", "code": "x", "client_id": standin.client.client_id,
        "client_secret": "wrong"})
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"


def _code(standin: StandIn, **extra: str) -> str:
    authorize, _, _ = _urls(standin)
    standin.set_next_user("Likeness Tester")
    params = {"response_type": "code", "client_id": standin.client.client_id, "state": "s",
              "redirect_uri": CALLBACK, **extra}
    callback = _browser(requests.Request("GET", authorize, params=params).prepare().url)
    return parse_qs(urlsplit(callback).query)["code"][0]


def _exchange(standin: StandIn, code: str, **extra: str) -> requests.Response:
    return requests.post(_urls(standin)[1], timeout=5, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "client_id": standin.client.client_id, "client_secret": standin.client.client_secret,
        **extra})


def test_codes_are_single_use_and_expire(standin: StandIn) -> None:
    code = _code(standin)
    assert _exchange(standin, code).status_code == 200
    again = _exchange(standin, code)
    assert again.status_code == 400
    assert again.json()["hint"] == "Authorization code has been revoked"
    late = _code(standin)
    standin.advance_clock(601)
    expired = _exchange(standin, late)
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"


def test_pkce_verifier_must_match(standin: StandIn) -> None:
    code = _code(standin, code_challenge="abc", code_challenge_method="plain")
    assert _exchange(standin, code, code_verifier="wrong").json()["error"] == "invalid_grant"
    code = _code(standin, code_challenge="abc", code_challenge_method="plain")
    assert _exchange(standin, code, code_verifier="abc").status_code == 200


def test_access_tokens_expire_and_refresh_still_works(standin: StandIn) -> None:
    standin.configure(token_ttl=60)
    tokens = standin.issue_tokens("Likeness Tester")
    assert tokens["expires_in"] == 60
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    api = standin.urls.api("commons")
    params = {"action": "query", "meta": "userinfo", "format": "json"}
    assert "error" not in requests.get(api, params=params, headers=headers, timeout=5).json()
    standin.advance_clock(61)
    resp = requests.get(api, params=params, headers=headers, timeout=5)
    assert resp.status_code == 200
    assert resp.json()["error"]["code"] == "mwoauth-invalid-authorization"
    assert resp.headers["MediaWiki-API-Error"] == "mwoauth-invalid-authorization"
    refreshed = requests.post(_urls(standin)[1], timeout=5, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": standin.client.client_id, "client_secret": standin.client.client_secret})
    assert refreshed.status_code == 200
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    me = requests.get(api, params=params, headers=headers, timeout=5).json()
    assert me["query"]["userinfo"]["name"] == "Likeness Tester"
