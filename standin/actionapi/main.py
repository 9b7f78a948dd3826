"""ApiMain: authentication, module dispatch, token and assert checks, in MediaWiki's order."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from standin.actionapi import errors as E
from standin.actionapi.context import ApiContext, Urls
from standin.state import World

Module = Callable[[ApiContext], dict[str, Any]]
_SECRET = b"standin-csrf-salt"


def _modules() -> dict[str, tuple[Module, bool]]:
    # Imported here so each module file stays independent of the dispatcher.
    from standin.actionapi import query, wbread, wbwrite

    return {
        "query": (query.run, False),
        "wbgetentities": (wbread.wbgetentities, False),
        "wbgetclaims": (wbread.wbgetclaims, False),
        "wbsearchentities": (wbread.wbsearchentities, False),
        "wbcreateclaim": (wbwrite.wbcreateclaim, True),
        "wbsetqualifier": (wbwrite.wbsetqualifier, True),
        "wbeditentity": (wbwrite.wbeditentity, True),
        "wbremoveclaims": (wbwrite.wbremoveclaims, True),
        "wbsetlabel": (wbwrite.wbsetlabel, True),
    }


def csrf_token(world: World, user_name: str | None) -> str:
    """Per-user CSRF token ending in ``+\\``; anonymous callers get the bare ``+\\``."""
    if user_name is None:
        return "+\\"
    msg = f"{user_name}|{world.csrf_epoch}".encode()
    return hmac.new(_SECRET, msg, hashlib.sha1).hexdigest() + "+\\"


def handle(site: str, world: World, urls: Urls, request: Request) -> tuple[Response, ApiContext]:
    ctx = ApiContext.build(site, world, urls, request)
    try:
        _authenticate(ctx)
        _check_maxlag(ctx, ctx.world.settings.replica_lag)
        action = ctx.get("action")
        if action is None:
            return ctx.respond({"help": {"mime": "text/html", "help": "Stand-in Action API"}}), ctx
        modules = _modules()
        if action not in modules:
            raise E.badvalue("action", action)
        func, writes = modules[action]
        if writes:
            _check_token(ctx, action)
        _check_assert(ctx)
        return ctx.respond(func(ctx)), ctx
    except E.ApiError as err:
        return ctx.error(err), ctx


def _authenticate(ctx: ApiContext) -> None:
    header = ctx.request.headers.get("Authorization")
    if not header:
        return
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise E.invalid_authorization("Invalid authorization header")
    grant = ctx.world.oauth.valid_access(token.strip(), ctx.world.now())
    if grant is None:
        raise E.invalid_authorization()
    ctx.grant = grant
    ctx.access_token = token.strip()
    ctx.user = ctx.world.users.get(grant.user)


def _check_maxlag(ctx: ApiContext, lag: float, lag_type: str = "db") -> None:
    """ApiMain::checkMaxLag: only requests that send ``maxlag`` are refused."""
    raw = ctx.get("maxlag")
    if raw is None:
        return
    try:
        limit = int(raw)
    except ValueError:
        raise E.ApiError("badinteger", f'Invalid value "{raw}" for integer parameter '
                                       '"maxlag".') from None
    if lag > limit:
        raise E.maxlag(lag, maxlag_param=limit, lag_type=lag_type)


def _check_token(ctx: ApiContext, action: str) -> None:
    if ctx.request.method != "POST":
        raise E.mustbeposted(action)
    if "token" in ctx.request.args:
        raise E.mustposttoken()
    token = ctx.request.form.get("token")
    if token is None:
        raise E.missingparam("token")
    expected = csrf_token(ctx.world, ctx.user.name if ctx.user else None)
    if not hmac.compare_digest(token, expected):
        raise E.badtoken()


def _check_assert(ctx: ApiContext) -> None:
    wanted = ctx.get("assert")
    if wanted == "user" and ctx.user is None:
        raise E.assertuserfailed()
    if wanted == "bot" and (ctx.user is None or "bot" not in ctx.user.groups):
        raise E.assertbotfailed()
    if wanted == "anon" and ctx.user is not None:
        raise E.ApiError("assertanonfailed", "You are logged in.")
    named = ctx.get("assertuser")
    if named is not None and (ctx.user is None or ctx.user.name != named.replace("_", " ")):
        raise E.ApiError("assertnameduserfailed", f'You are no longer logged in as "{named}".')
