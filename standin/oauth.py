"""Meta's OAuth 2.0 endpoints (Extension:OAuth REST routes).

``authorize`` answers 307 to ``Special:OAuth/approve`` like Meta. There is no login form: the
approval page approves as the user named by ``standin_user`` (query parameter), else by the
control API's default (``POST /_standin/oauth/next-user``), else it shows a page where a person
picks a test user or cancels. ``standin_deny=1`` (or the default ``deny``) cancels.
"""

from __future__ import annotations

import base64
import html
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from werkzeug.wrappers import Request, Response

from standin.actionapi.context import Urls
from standin.catalog import OAuthClient
from standin.state import World
from standin.tokens import CodeGrant, pkce_ok

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
INVALID_GRANT = ("The provided authorization grant (e.g., authorization code, resource owner "
                 "credentials) or refresh token is invalid, expired, revoked, does not match the "
                 "redirection URI used in the authorization request, or was issued to another "
                 "client.")
INVALID_REQUEST = ("The request is missing a required parameter, includes an invalid parameter "
                   "value, includes a parameter more than once, or is otherwise malformed.")


def _json(body: dict[str, Any], status: int = 200) -> Response:
    resp = Response(json.dumps(body), status=status,
                    content_type="application/json" if status >= 400
                    else "application/json; charset=UTF-8")
    resp.headers["Cache-Control"] = ("private,no-cache,s-maxage=0" if status >= 400
                                     else "private, max-age=0, s-maxage=0")
    return resp


def _error(error: str, description: str, status: int, hint: str | None = None) -> Response:
    body: dict[str, Any] = {"error": error, "error_description": description}
    if hint:
        body["hint"] = hint
    body["message"] = description
    return _json(body, status)


def _invalid_client() -> Response:
    return _error("invalid_client", "Client authentication failed", 401)


def _client(world: World, client_id: str | None) -> OAuthClient | None:
    return next((c for c in world.catalog.clients if c.client_id == client_id), None)


def _redirect_ok(client: OAuthClient, uri: str | None) -> bool:
    """Any localhost callback is accepted (the registered one always is)."""
    if uri is None or uri == client.callback:
        return True
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and (parts.hostname or "") in LOCAL_HOSTS


def authorize(world: World, urls: Urls, request: Request) -> Response:
    args = request.args
    client = _client(world, args.get("client_id"))
    if client is None or not _redirect_ok(client, args.get("redirect_uri")):
        return _invalid_client()
    if args.get("response_type") != "code":
        return _error("unsupported_response_type",
                      "The authorization server does not support obtaining an access token "
                      "using this method.", 400)
    query = urlencode({"title": "Special:OAuth/approve", **args.to_dict(),
                       "oauth_version": "2.0"})
    resp = Response(status=307)
    resp.headers["Location"] = f"{urls.base}/meta/w/index.php?{query}"
    return resp


def approve(world: World, urls: Urls, request: Request) -> Response:
    """Special:OAuth/approve: approve as the chosen user or deny, then go to the callback."""
    args = request.args
    client = _client(world, args.get("client_id"))
    if client is None or not _redirect_ok(client, args.get("redirect_uri")):
        return _invalid_client()
    callback = args.get("redirect_uri") or client.callback
    deny = args.get("standin_deny") == "1"
    user_name = args.get("standin_user")
    if user_name is None and not deny:
        deny = world.settings.oauth_deny
        user_name = world.settings.oauth_default_user
    state = args.get("state")
    if deny:
        text = "The user denied the request"
        return _redirect(callback, {"error": "unauthorized_client", "error_description": text,
                                    "message": text, "state": state})
    if user_name is None:
        return _chooser(world, request)
    if user_name not in world.users:
        return Response(f"No such stand-in user: {html.escape(user_name)}", status=400)
    # standin_grants (space-separated) or the oauth_grants setting: approve fewer grants than
    # the client has, e.g. a login without 'editpage' (a token that may read but not edit).
    requested = (args.get("standin_grants") or " ".join(world.settings.oauth_grants or ())
                 or args.get("scope") or "").split()
    grants = [g for g in requested if g in client.grants] or list(client.grants)
    code = world.oauth.new_code(CodeGrant(
        user=user_name, client_id=client.client_id, redirect_uri=args.get("redirect_uri"),
        grants=grants, expires=world.now() + world.settings.code_ttl,
        challenge=args.get("code_challenge"),
        challenge_method=args.get("code_challenge_method", "plain")))
    return _redirect(callback, {"code": code, "state": state})


def _redirect(callback: str, params: dict[str, str | None]) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    sep = "&" if "?" in callback else "?"
    resp = Response(status=302)
    resp.headers["Location"] = f"{callback}{sep}{query}"
    return resp


def _chooser(world: World, request: Request) -> Response:
    base = request.full_path.rstrip("?")
    rows = []
    for name, user in world.users.items():
        link = f"{base}&{urlencode({'standin_user': name})}"
        note = " (blocked: edits will be refused)" if user.blocked else ""
        rows.append(f'<li><a href="{html.escape(link)}">Allow as {html.escape(name)}</a>'
                    f"{note}</li>")
    cancel = html.escape(f"{base}&standin_deny=1")
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Stand-in OAuth approval"
            "</title></head><body><h1>Likeness stand-in: approve access</h1><p>This is the "
            "local stand-in for Wikimedia OAuth. Choose a test user:</p><ul>"
            + "".join(rows) + f'</ul><p><a href="{cancel}">Cancel</a></p></body></html>')
    return Response(page, content_type="text/html; charset=utf-8")


def _client_credentials(request: Request) -> tuple[str | None, str | None]:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:]).decode()
            cid, _, secret = raw.partition(":")
            from urllib.parse import unquote_plus

            return unquote_plus(cid), unquote_plus(secret)
        except (ValueError, UnicodeDecodeError):
            return None, None
    return request.form.get("client_id"), request.form.get("client_secret")


def access_token(world: World, request: Request) -> Response:
    cid, secret = _client_credentials(request)
    client = _client(world, cid)
    if client is None or secret != client.client_secret:
        return _invalid_client()
    grant_type = request.form.get("grant_type")
    if grant_type == "authorization_code":
        return _grant_code(world, client, request)
    if grant_type == "refresh_token":
        return _grant_refresh(world, client, request)
    return _error("unsupported_grant_type",
                  "The authorization grant type is not supported by the authorization server.",
                  400, "Check that all required parameters have been provided")


def _issue(world: World, user_name: str, client: OAuthClient, grants: list[str]) -> Response:
    user = world.users[user_name]
    ttl = world.settings.token_ttl
    access, refresh = world.oauth.issue(user.name, user.central_id, client.client_id, grants,
                                        world.now(), ttl)
    return _json({"token_type": "Bearer", "expires_in": ttl, "access_token": access,
                  "refresh_token": refresh})


def _grant_code(world: World, client: OAuthClient, request: Request) -> Response:
    code = request.form.get("code")
    with world.oauth.lock:
        grant = world.oauth.codes.get(code or "")
        if grant is None:
            return _error("invalid_request", INVALID_REQUEST, 400,
                          "Cannot decrypt the authorization code")
        if grant.used:
            return _error("invalid_grant", INVALID_GRANT, 400,
                          "Authorization code has been revoked")
        if grant.expires <= world.now():
            return _error("invalid_grant", INVALID_GRANT, 400, "Authorization code has expired")
        if grant.client_id != client.client_id:
            return _error("invalid_request", INVALID_REQUEST, 400,
                          "Authorization code was not issued to this client")
        if grant.redirect_uri and request.form.get("redirect_uri") != grant.redirect_uri:
            return _error("invalid_client", "Client authentication failed", 401)
        if not pkce_ok(request.form.get("code_verifier"), grant.challenge,
                       grant.challenge_method):
            return _error("invalid_grant", INVALID_GRANT, 400,
                          "Failed to verify `code_verifier`.")
        grant.used = True
    return _issue(world, grant.user, client, grant.grants)


def _grant_refresh(world: World, client: OAuthClient, request: Request) -> Response:
    token = request.form.get("refresh_token")
    with world.oauth.lock:
        grant = world.oauth.refresh.get(token or "")
        bad = None
        if grant is None:
            bad = "Cannot decrypt the refresh token"
        elif grant.revoked:
            bad = "Token has been revoked"
        elif grant.expires <= world.now():
            bad = "Token has expired"
        elif grant.client_id != client.client_id:
            bad = "Token is not linked to client"
        if bad or grant is None:
            return _error("invalid_request", "The refresh token is invalid.", 401, bad)
        # Rotation: the old refresh token and the access token it came with stop working.
        grant.revoked = True
        old_access = world.oauth.access.get(grant.access_token)
        if old_access is not None:
            old_access.revoked = True
    return _issue(world, grant.user, client, grant.grants)


def _bearer(world: World, request: Request) -> tuple[Any, Response | None]:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    grant = world.oauth.valid_access(token, world.now()) if token else None
    if grant is None:
        return None, _error("access_denied", "The resource owner or authorization server denied "
                                             "the request.", 401,
                            "Access token could not be verified")
    return grant, None


def profile(world: World, request: Request) -> Response:
    grant, err = _bearer(world, request)
    if err:
        return err
    user = world.users[grant.user]
    from standin.actionapi.meta import rights_for

    return _json({
        "sub": str(user.central_id), "username": user.name, "editcount": user.editcount,
        "confirmed_email": True, "email_verified": True, "blocked": user.blocked,
        "registered": user.registered, "groups": list(user.groups),
        "rights": rights_for(list(grant.grants)),
        "grants": list(grant.grants),
    })


def scopes(world: World, request: Request) -> Response:
    grant, err = _bearer(world, request)
    if err:
        return err
    return _json({"scopes": list(grant.grants)})
