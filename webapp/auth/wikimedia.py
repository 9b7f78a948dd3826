"""Login through Wikimedia OAuth 2.0 (authorization-code grant) with Flask-Dance.

Flask-Dance has no Wikimedia preset, so the blueprint is built from the configured
``wiki.oauth_base`` (``https://meta.wikimedia.org/w/rest.php``): ``/oauth2/authorize`` and
``/oauth2/access_token``. Routes: ``/login/wikimedia`` starts the dance and
``/login/wikimedia/authorized`` is the callback to register with the consumer.

Tokens never live in the session cookie: ``UserTokenStorage`` keeps them encrypted in the users
table, for the web app and the worker alike (likeness.tokens refreshes them).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

from flask import flash, g, has_app_context, redirect, session, url_for
from flask_babel import gettext as _
from flask_dance.consumer import OAuth2ConsumerBlueprint, oauth_authorized, oauth_error
from flask_dance.consumer.storage import BaseStorage

from likeness.config import Config
from likeness.db import users as users_db
from likeness.db.users import Tokens
from likeness.tokens import LoginRequired, cipher_for, fetch_profile
from likeness.useragent import user_agent
from webapp import rights
from webapp.access import maybe_user
from webapp.auth.session import log_in, pop_next
from webapp.context import config, engine

log = logging.getLogger(__name__)

BLUEPRINT_NAME = "wikimedia"
URL_PREFIX = "/login"
CALLBACK_PATH = f"{URL_PREFIX}/{BLUEPRINT_NAME}/authorized"


def tokens_from_oauthlib(token: dict[str, Any]) -> Tokens:
    """oauthlib's token dict (expires_at in epoch seconds) -> our Tokens (naive UTC)."""
    expires_at = None
    if token.get("expires_at"):
        expires_at = dt.datetime.fromtimestamp(float(token["expires_at"]), dt.UTC).replace(
            tzinfo=None)
    return Tokens(token.get("access_token"), token.get("refresh_token"), expires_at)


class UserTokenStorage(BaseStorage):
    """Flask-Dance storage: the logged-in user's tokens, encrypted in the users table."""

    def _user_id(self) -> int | None:
        if g.get("login_user_id"):
            return g.login_user_id
        user = maybe_user()
        return user.id if user else None

    def get(self, blueprint: Any) -> dict[str, Any] | None:
        user_id = self._user_id()
        if user_id is None:
            return None
        with engine().connect() as conn:
            tokens = users_db.load_tokens(conn, user_id, cipher_for(config()))
        if tokens is None or tokens.access_token is None:
            return None
        token: dict[str, Any] = {"access_token": tokens.access_token, "token_type": "Bearer"}
        if tokens.refresh_token:
            token["refresh_token"] = tokens.refresh_token
        if tokens.expires_at:
            token["expires_at"] = tokens.expires_at.replace(tzinfo=dt.UTC).timestamp()
        return token

    def set(self, blueprint: Any, token: dict[str, Any]) -> None:
        user_id = self._user_id()
        if user_id is None:
            raise ValueError("no user to store the token for")
        with engine().begin() as conn:
            users_db.store_tokens(conn, user_id, cipher_for(config()), tokens_from_oauthlib(token))

    def delete(self, blueprint: Any) -> None:
        user_id = self._user_id()
        if user_id is not None:
            with engine().begin() as conn:
                users_db.clear_tokens(conn, user_id)


class WikimediaBlueprint(OAuth2ConsumerBlueprint):
    """Flask-Dance's OAuth 2.0 blueprint with two changes:

    * the requests session lives in ``flask.g`` (one per request), not on the blueprint that
      all threads share, so two people logging in at once cannot swap OAuth states;
    * the token request sends the tool's User-Agent (Wikimedia blocks anonymous ones).
    """

    ua: str = ""
    _G_KEY = "_wikimedia_oauth_session"

    @property
    def session(self) -> Any:
        if self._G_KEY not in g:
            setattr(g, self._G_KEY, _PARENT_SESSION.fget(self))
        return g.get(self._G_KEY)

    @session.deleter
    def session(self) -> None:
        if has_app_context():
            g.pop(self._G_KEY, None)

    def session_created(self, session: Any) -> Any:
        session.headers["User-Agent"] = self.ua
        return session


_PARENT_SESSION = OAuth2ConsumerBlueprint.__dict__["session"]


def make_blueprint(cfg: Config) -> WikimediaBlueprint:
    base = cfg.wiki.oauth_base.rstrip("/")
    if base.startswith("http://"):
        # A local stand-in of meta.wikimedia.org speaks plain HTTP; oauthlib refuses that
        # unless told otherwise. Only ever set for an explicitly configured http:// base.
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    bp = WikimediaBlueprint(
        BLUEPRINT_NAME, __name__,
        client_id=cfg.oauth.client_id,
        client_secret=cfg.oauth.client_secret,
        authorization_url=f"{base}/oauth2/authorize",
        token_url=f"{base}/oauth2/access_token",
        # Client credentials in the body, as Wikimedia's OAuth extension documents them.
        token_url_params={"include_client_id": True},
        url_prefix=URL_PREFIX,
        storage=UserTokenStorage(),
        redirect_to="home.index",
    )
    bp.ua = user_agent(cfg)
    oauth_authorized.connect(_logged_in, sender=bp)
    oauth_error.connect(_oauth_error, sender=bp)
    return bp


def _logged_in(blueprint: WikimediaBlueprint, token: dict[str, Any]) -> Any:
    """After the code exchange: who is it? Upsert the user, store the tokens, log in."""
    if not token or not token.get("access_token"):
        flash(_("Wikimedia did not send an access token; please try again."), "error")
        return redirect(url_for("home.index"))
    cfg = config()
    try:
        profile = fetch_profile(cfg, token["access_token"])
    except LoginRequired as exc:
        log.warning("auth.profile_failed", extra={"error": str(exc)})
        flash(_("Could not read your Wikimedia profile; please try again."), "error")
        return redirect(url_for("home.index"))
    with engine().begin() as conn:
        user = users_db.upsert(conn, profile.wiki_user_id, profile.username)
        users_db.store_tokens(conn, user.id, cipher_for(cfg), tokens_from_oauthlib(token))
    next_url = pop_next()
    log_in(user)
    rights.announce(user.id)
    log.info("auth.login", extra={"user": user.id, "mode": "oauth2"})
    return redirect(next_url)


def _oauth_error(blueprint: WikimediaBlueprint, error: Any = None,
                 error_description: Any = None, error_uri: Any = None) -> Any:
    log.info("auth.oauth_error", extra={"error": str(error)[:200]})
    flash(_("Login was cancelled or refused by Wikimedia."), "error")
    session.pop("next", None)
    return redirect(url_for("home.index"))
