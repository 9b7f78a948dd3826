"""Fresh OAuth 2.0 access tokens for a user, shared by the web app and the worker.

Wikimedia access tokens live 4 hours; refresh tokens rotate on every refresh (the old one stops
working). So a refresh happens under a row lock (``users.load_tokens_for_update``) inside one
transaction: two processes never both spend one refresh token, and the rotated one is stored
before the lock is released. In owner-only mode the configured token is the token.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from likeness.config import Config
from likeness.crypto import InvalidToken, TokenCipher
from likeness.db import users as users_db
from likeness.db.users import Tokens
from likeness.wiki import oauth
from likeness.wiki.errors import TransportError, WikiError
from likeness.wiki.factory import OAUTH, session_for

log = logging.getLogger(__name__)

REFRESH_MARGIN_SECONDS = 300


class LoginRequired(Exception):
    """The user's tokens are missing, revoked or unusable: they must log in again."""


class OAuthUnavailable(Exception):
    """Wikimedia's OAuth endpoint did not answer usefully; try again later."""


@dataclass(frozen=True)
class Profile:
    wiki_user_id: int
    username: str
    blocked: bool = False


def cipher_for(cfg: Config) -> TokenCipher:
    """The token cipher; a local install without secret_key uses the web app's generated key."""
    if cfg.oauth.token_key or cfg.secret_key:
        return TokenCipher.from_config(cfg)
    path = Path(cfg.data_dir) / "secret_key"
    if not path.exists():
        raise LoginRequired("no secret_key configured and no local key yet; log in once")
    digest = hashlib.sha256(b"likeness-token-key:" + path.read_text().strip().encode()).digest()
    return TokenCipher(base64.urlsafe_b64encode(digest))


def owner_only_mode(cfg: Config) -> bool:
    return bool(cfg.oauth.owner_only_token) and not cfg.oauth_configured


def fresh_access_token(engine: Engine, cfg: Config, user_id: int,
                       margin: float = REFRESH_MARGIN_SECONDS) -> str:
    """A usable access token for ``user_id``, refreshed (and its rotation stored) if needed.

    Raises LoginRequired when the user must log in again, OAuthUnavailable when Wikimedia
    could not be reached (retry later; the stored refresh token is untouched then).
    """
    cipher = cipher_for(cfg)
    try:
        with engine.connect() as conn:
            tokens = users_db.load_tokens(conn, user_id, cipher)
    except InvalidToken as exc:
        raise LoginRequired("stored tokens cannot be decrypted (key changed)") from exc
    if tokens is None or not tokens.access_token:
        raise LoginRequired(f"user {user_id} has no stored token")
    if tokens.refresh_token is None:
        if owner_only_mode(cfg):
            return cfg.oauth.owner_only_token
        if tokens.expires_within(0):
            raise LoginRequired("access token expired and there is no refresh token")
        return tokens.access_token
    if not tokens.expires_within(margin):
        return tokens.access_token
    with engine.begin() as conn:
        # Re-read under the lock: another process may have refreshed meanwhile.
        locked = users_db.load_tokens_for_update(conn, user_id, cipher)
        if locked is None or not locked.refresh_token:
            raise LoginRequired(f"user {user_id} has no refresh token")
        if locked.access_token and not locked.expires_within(margin):
            return locked.access_token
        new = refresh(cfg, locked.refresh_token)
        users_db.store_tokens(conn, user_id, cipher, new)
    log.info("oauth.refreshed", extra={"user": user_id})
    assert new.access_token is not None  # refresh() copies a TokenSet's, always a str
    return new.access_token


def refresh(cfg: Config, refresh_token: str) -> Tokens:
    """Spend ``refresh_token`` at the token endpoint; return the new (rotated) pair."""
    session = session_for(cfg, OAUTH)
    try:
        new = oauth.refresh_access_token(session, cfg.wiki.oauth_base, cfg.oauth.client_id,
                                         cfg.oauth.client_secret, refresh_token)
    except oauth.OAuthError as exc:
        if exc.needs_login:
            raise LoginRequired(f"refresh refused: {exc.error}") from exc
        raise OAuthUnavailable(str(exc)) from exc
    except TransportError as exc:
        # If the answer was lost after the server rotated the token, the next try is refused
        # (invalid_request) and the user logs in again; if not, the next try simply works.
        raise OAuthUnavailable(str(exc)) from exc
    except WikiError as exc:
        raise OAuthUnavailable(str(exc)) from exc
    return Tokens(new.access_token, new.refresh_token, new.expires_at)


def fetch_profile(cfg: Config, access_token: str) -> Profile:
    """Who owns ``access_token`` (the OAuth 2.0 profile resource)."""
    session = session_for(cfg, OAUTH)
    try:
        profile = oauth.get_profile(session, cfg.wiki.oauth_base, access_token)
        return Profile(profile.central_id, profile.username[:255], profile.blocked)
    except (WikiError, ValueError) as exc:
        raise LoginRequired(f"profile refused: {exc}") from exc
