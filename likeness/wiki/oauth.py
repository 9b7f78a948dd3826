"""Wikimedia OAuth 2.0 (Extension:OAuth on Meta), shared by the web app and the worker.

The browser dance is flask-dance's job; this module holds the endpoint URLs, the token refresh
the worker needs before editing (access tokens last 4 h), and the profile call. Refresh tokens
ROTATE: every successful refresh returns a new one and invalidates the old, so the caller must
store the returned ``TokenSet`` at once (under the row lock in ``likeness.db.users``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import requests

from likeness.wiki.errors import ResponseFormatError, TransportError, WikiError

DEFAULT_EXPIRES_IN = 14400


@dataclass(frozen=True)
class OAuthEndpoints:
    authorize: str
    token: str
    profile: str


def endpoints(oauth_base: str) -> OAuthEndpoints:
    """From ``cfg.wiki.oauth_base`` (``https://meta.wikimedia.org/w/rest.php``)."""
    base = oauth_base.rstrip("/")
    return OAuthEndpoints(authorize=f"{base}/oauth2/authorize",
                          token=f"{base}/oauth2/access_token",
                          profile=f"{base}/oauth2/resource/profile")


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: dt.datetime          # naive UTC, like every timestamp in the database

    def expires_within(self, seconds: float, now: dt.datetime | None = None) -> bool:
        return self.expires_at <= (now or _utcnow()) + dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class Profile:
    sub: str                          # central (global) user id, as a string
    username: str
    editcount: int = 0
    blocked: bool = False
    confirmed_email: bool = False
    groups: tuple[str, ...] = ()
    rights: tuple[str, ...] = ()
    grants: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def central_id(self) -> int:
        return int(self.sub)


class OAuthError(WikiError):
    """The OAuth server refused: ``error`` is the OAuth code (``invalid_grant``,
    ``invalid_request``, ``invalid_client``, ``access_denied`` ...)."""

    def __init__(self, status: int, error: str, description: str = "", hint: str = "") -> None:
        super().__init__(f"HTTP {status} {error}: {description} {hint}".strip())
        self.status = status
        self.error = error
        self.description = description
        self.hint = hint

    @property
    def needs_login(self) -> bool:
        """The grant is gone (revoked, expired or already rotated): the user must log in."""
        return self.status in {400, 401} and self.error in {
            "invalid_grant", "invalid_request", "access_denied", "invalid_token"}


def refresh_access_token(
    session: requests.Session,
    oauth_base: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    now: dt.datetime | None = None,
) -> TokenSet:
    """A new access token AND a new refresh token (store both; the old refresh token is dead).

    Sent once, never retried: if the answer is lost the server may already have rotated the
    token (TransportError with maybe_applied=True), and only a new login recovers from that.
    """
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": client_id, "client_secret": client_secret}
    return _token_request(session, oauth_base, form, now)


def exchange_code(
    session: requests.Session,
    oauth_base: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str | None = None,
    code_verifier: str | None = None,
    now: dt.datetime | None = None,
) -> TokenSet:
    """The authorization-code grant (flask-dance does this in the web app; kept for tools)."""
    form = {"grant_type": "authorization_code", "code": code,
            "client_id": client_id, "client_secret": client_secret}
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    if code_verifier:
        form["code_verifier"] = code_verifier
    return _token_request(session, oauth_base, form, now)


def get_profile(session: requests.Session, oauth_base: str, access_token: str) -> Profile:
    """Who the access token belongs to (``sub`` is the stable key, ``username`` for display)."""
    url = endpoints(oauth_base).profile
    try:
        resp = session.get(url, headers={"Authorization": f"Bearer {access_token}"})
    except requests.exceptions.RequestException as exc:
        raise TransportError("GET", url, f"{type(exc).__name__}: {exc}",
                             maybe_applied=False) from exc
    body = _json_or_error(resp)
    if "sub" not in body or "username" not in body:
        raise ResponseFormatError(f"profile without sub/username: {sorted(body)}")
    return Profile(
        sub=str(body["sub"]), username=str(body["username"]),
        editcount=int(body.get("editcount") or 0), blocked=bool(body.get("blocked", False)),
        confirmed_email=bool(body.get("confirmed_email", False)),
        groups=tuple(body.get("groups") or ()), rights=tuple(body.get("rights") or ()),
        grants=tuple(body.get("grants") or ()), raw=body,
    )


def _token_request(session: requests.Session, oauth_base: str, form: dict[str, str],
                   now: dt.datetime | None) -> TokenSet:
    url = endpoints(oauth_base).token
    try:
        # No user bearer token on the token endpoint: the client authenticates in the form.
        resp = session.post(url, data=form, headers={"Authorization": None})
    except requests.exceptions.RequestException as exc:
        sent = not isinstance(exc, requests.exceptions.ConnectTimeout)
        raise TransportError("POST", url, f"{type(exc).__name__}: {exc}",
                             maybe_applied=sent) from exc
    body = _json_or_error(resp)
    try:
        access, refresh = str(body["access_token"]), str(body["refresh_token"])
    except KeyError as exc:
        raise ResponseFormatError(f"token answer without {exc}: {sorted(body)}") from exc
    expires_in = int(body.get("expires_in") or DEFAULT_EXPIRES_IN)
    return TokenSet(access, refresh, (now or _utcnow()) + dt.timedelta(seconds=expires_in))


def _json_or_error(resp: requests.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code >= 400 or not isinstance(body, dict):
        body = body if isinstance(body, dict) else {}
        raise OAuthError(resp.status_code, str(body.get("error") or f"http-{resp.status_code}"),
                         str(body.get("error_description") or body.get("message") or ""),
                         str(body.get("hint") or ""))
    return body


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
