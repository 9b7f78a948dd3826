"""OAuth 2.0 against the stand-in's Meta: endpoints, rotating refresh, profile, refusals."""

import datetime as dt

import pytest

from likeness.config import load_config
from likeness.useragent import user_agent
from likeness.wiki import oauth
from likeness.wiki.factory import make_clients
from likeness.wiki.http import make_session
from likeness.wiki.writes import csrf_token

TESTER = "Likeness Tester"


@pytest.fixture
def cfg(standin):
    return load_config(path="/nonexistent/config.yaml", environ={},
                       overrides=standin.config_overrides())


def test_endpoints_from_base():
    ep = oauth.endpoints("https://meta.wikimedia.org/w/rest.php/")
    assert ep == oauth.OAuthEndpoints(
        authorize="https://meta.wikimedia.org/w/rest.php/oauth2/authorize",
        token="https://meta.wikimedia.org/w/rest.php/oauth2/access_token",
        profile="https://meta.wikimedia.org/w/rest.php/oauth2/resource/profile")


def test_refresh_rotates_and_the_new_token_works(standin, cfg):
    issued = standin.issue_tokens(TESTER)
    # The session carries another bearer token: it must not reach the token endpoint.
    session = make_session(user_agent(cfg), access_token="stale-user-token")
    now = dt.datetime(2026, 1, 1, 12, 0, 0)
    new = oauth.refresh_access_token(session, cfg.wiki.oauth_base, cfg.oauth.client_id,
                                     cfg.oauth.client_secret, issued["refresh_token"], now=now)
    assert new.refresh_token != issued["refresh_token"]
    assert new.access_token != issued["access_token"]
    assert new.expires_at == now + dt.timedelta(seconds=issued["expires_in"])
    assert new.expires_within(issued["expires_in"] + 1, now=now)
    assert not new.expires_within(60, now=now)
    (row,) = standin.requests_log("meta.access_token")
    assert row["method"] == "POST" and row["authorization"] is None
    assert row["params"]["grant_type"] == "refresh_token"
    assert row["user_agent"] == user_agent(cfg)

    # The new access token edits; the old refresh token is dead (rotation).
    commons = make_clients(cfg, new.access_token).commons
    assert csrf_token(commons) == standin.csrf_token(TESTER)
    with pytest.raises(oauth.OAuthError) as info:
        oauth.refresh_access_token(session, cfg.wiki.oauth_base, cfg.oauth.client_id,
                                   cfg.oauth.client_secret, issued["refresh_token"])
    assert info.value.status in (400, 401) and info.value.needs_login
    assert len(standin.requests_log("meta.access_token", method="POST")) == 2   # no retry


def test_refresh_with_wrong_client_secret(standin, cfg):
    issued = standin.issue_tokens(TESTER)
    with pytest.raises(oauth.OAuthError) as info:
        oauth.refresh_access_token(make_session(user_agent(cfg)), cfg.wiki.oauth_base,
                                   cfg.oauth.client_id, "wrong", issued["refresh_token"])
    assert info.value.error == "invalid_client" and not info.value.needs_login


def test_profile(standin, standin_catalog, cfg):
    token = standin.issue_token("Zoë Reviewer")
    profile = oauth.get_profile(make_session(user_agent(cfg)), cfg.wiki.oauth_base, token)
    user = standin_catalog.user("Zoë Reviewer")
    assert (profile.username, profile.central_id, profile.sub) == (
        "Zoë Reviewer", user.central_id, str(user.central_id))
    assert profile.blocked is False and "editpage" in profile.grants
    (row,) = standin.requests_log("meta.profile")
    assert row["authorization"].startswith("Bearer")


def test_profile_with_expired_token(standin, cfg):
    token = standin.issue_token(TESTER)
    standin.expire_tokens(TESTER)
    with pytest.raises(oauth.OAuthError) as info:
        oauth.get_profile(make_session(user_agent(cfg)), cfg.wiki.oauth_base, token)
    assert info.value.status == 401 and info.value.needs_login
