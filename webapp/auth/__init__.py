"""Login and logout. Two ways in:

* an OAuth 2.0 consumer (``oauth.client_id`` + ``oauth.client_secret``): /login redirects to
  Wikimedia through the Flask-Dance blueprint in ``webapp.auth.wikimedia``;
* an owner-only access token (``oauth.owner_only_token``, a personal local install): /login shows
  one button that checks the token against the profile endpoint and logs its owner in.

``current_user()``, ``maybe_user()`` and ``login_required`` live in ``webapp.access`` and are
re-exported here.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

import requests
from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from oauthlib.oauth2 import OAuth2Error
from werkzeug.wrappers import Response

from likeness.config import Config
from likeness.db import users as users_db
from likeness.db.users import Tokens
from likeness.tokens import LoginRequired, cipher_for, fetch_profile, owner_only_mode
from webapp import rights
from webapp.access import current_user, login_required, maybe_user, public
from webapp.auth import wikimedia
from webapp.auth.session import log_in, log_out, remember_next
from webapp.context import config, engine
from webapp.security import rate_limit, safe_next

__all__ = ["bp", "current_user", "login_required", "maybe_user", "register"]

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)


@bp.get("/login")
@public
def login() -> ResponseReturnValue:
    cfg = config()
    next_url = safe_next(request.args.get("next"))
    if maybe_user() is not None:
        return redirect(next_url)
    if cfg.oauth_configured:
        remember_next(next_url)
        return redirect(url_for("wikimedia.login"))
    return render_template("auth/login.html", cfg=cfg, next_url=next_url,
                           owner_only=owner_only_mode(cfg))


@bp.post("/login/owner")
@public
@rate_limit("login")
def login_owner() -> ResponseReturnValue:
    """Owner-only mode: whoever owns the configured token is the one user of this install."""
    cfg = config()
    next_url = safe_next(request.form.get("next"))
    if not owner_only_mode(cfg):
        flash(_("Owner-only login is not configured."), "error")
        return redirect(url_for("home.index"))
    if not _from_this_machine():
        # Whoever can press the button becomes the token's owner: only on the same machine.
        log.warning("auth.owner_login_remote", extra={
            "addr": request.remote_addr, "forwarded_for": request.headers.get("X-Forwarded-For")})
        return render_template("auth/login.html", cfg=cfg, next_url=next_url, owner_only=True,
                               remote_refused=True), 403
    try:
        profile = fetch_profile(cfg, cfg.oauth.owner_only_token)
    except LoginRequired as exc:
        log.warning("auth.owner_token_refused", extra={"error": str(exc)})
        flash(_("Wikimedia refused the configured owner-only token: check "
                "oauth.owner_only_token."), "error")
        return redirect(url_for("auth.login"))
    with engine().begin() as conn:
        user = users_db.upsert(conn, profile.wiki_user_id, profile.username)
        # No refresh token and no expiry: likeness.tokens returns the configured token.
        users_db.store_tokens(conn, user.id, cipher_for(cfg),
                              Tokens(cfg.oauth.owner_only_token, None, None))
    log_in(user)
    rights.announce(user.id)
    log.info("auth.login", extra={"user": user.id, "mode": "owner_only"})
    return redirect(next_url)


def _from_this_machine() -> bool:
    """The TCP peer is this machine, and no proxy speaks for someone elsewhere.

    The socket's address is what counts (ProxyFix keeps it in ``werkzeug.proxy_fix.orig``); a
    proxy on this machine would make every client look local, so a request it forwarded must
    name a local client too, and a forwarded-for header from an untrusted sender is refused.
    """
    original = request.environ.get("werkzeug.proxy_fix.orig", request.environ)
    if not _loopback(original.get("REMOTE_ADDR")):
        return False
    if "X-Forwarded-For" in request.headers:
        return bool(config().app.proxy_hops) and _loopback(request.remote_addr)
    return True


def _loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


@bp.post("/logout")
@public
def logout() -> Response:
    # Stored tokens stay: the worker may still send this user's confirmed edits.
    log_out()
    return redirect(url_for("home.index"))


def register(app: Flask, cfg: Config) -> None:
    app.register_blueprint(bp)
    if cfg.oauth_configured:
        app.register_blueprint(wikimedia.make_blueprint(cfg))
        # Flask-Dance's own views: mark them public and rate-limit starting the dance.
        app.view_functions["wikimedia.login"] = public(
            rate_limit("login")(app.view_functions["wikimedia.login"]))
        app.view_functions["wikimedia.authorized"] = public(
            _failing_gently(app.view_functions["wikimedia.authorized"]))


def _failing_gently(view: Callable[[], Any]) -> Callable[[], Any]:
    """A forged or stale callback, or an unreachable token endpoint: say so, log nobody in."""

    @functools.wraps(view)
    def authorized() -> Any:
        try:
            return view()
        except (OAuth2Error, requests.RequestException, ValueError) as exc:
            log.warning("auth.callback_failed", extra={"error": type(exc).__name__})
            flash(_("Login failed; please try again."), "error")
            return redirect(url_for("home.index"))

    return authorized
