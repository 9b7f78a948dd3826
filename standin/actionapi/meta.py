"""meta=tokens, meta=userinfo and a small meta=siteinfo."""

from __future__ import annotations

import secrets
from typing import Any

from standin.actionapi.context import ApiContext

RIGHTS = ["read", "edit", "createpage", "upload", "reupload", "move", "writeapi",
          "editmyoptions", "autoconfirmed", "skipcaptcha"]
# Rights an OAuth grant allows (Extension:OAuth limits a token's rights to its grants, so
# uiprop=rights lists only those); 'basic' allows the rights that need no other grant.
GRANT_RIGHTS = {
    "basic": {"read", "writeapi", "autoconfirmed", "skipcaptcha"},
    "editpage": {"edit", "editmyoptions"},
    "createeditmovepage": {"edit", "createpage", "move"},
    "uploadfile": {"upload", "reupload"},
}


def rights_for(grants: list[str] | None) -> list[str]:
    """The user's rights as a token with ``grants`` sees them (None: a session, all rights)."""
    if grants is None:
        return list(RIGHTS)
    allowed = set().union(*(GRANT_RIGHTS.get(g, set()) for g in grants))
    return [r for r in RIGHTS if r in allowed]


def tokens(ctx: ApiContext) -> dict[str, Any]:
    from standin.actionapi.main import csrf_token

    out: dict[str, Any] = {}
    for kind in ctx.multi("type") or ["csrf"]:
        if kind == "login":
            out["logintoken"] = secrets.token_hex(20) + "+\\"
        elif kind in ("csrf", "watch", "patrol", "rollback", "userrights", "createaccount"):
            out[f"{kind}token"] = csrf_token(ctx.world, ctx.user.name if ctx.user else None)
        else:
            ctx.warn("tokens", f'Unrecognized value for parameter "type": {kind}.')
    return out


def userinfo(ctx: ApiContext) -> dict[str, Any]:
    props = set(ctx.multi("uiprop"))
    user = ctx.user
    if user is None:
        info: dict[str, Any] = {"id": 0, "name": ctx.user_name, "anon": ctx.flag()}
        if "groups" in props:
            info["groups"] = ["*"]
        if "rights" in props:
            info["rights"] = ["read", "edit", "writeapi"]
        return info
    info = {"id": user.id, "name": user.name}
    if "blockinfo" in props and user.blocked:
        info.update({"blockid": 9000 + user.id, "blockedby": "Stand-in admin",
                     "blockedbyid": 1, "blockreason": "Test block", "blockexpiry": "infinite",
                     "blockpartial": False if ctx.fv == 2 else ""})
    if "groups" in props:
        info["groups"] = list(user.groups)
    if "rights" in props:
        info["rights"] = rights_for(ctx.grant.grants if ctx.grant else None)
    if "editcount" in props:
        info["editcount"] = user.editcount
    if "registrationdate" in props:
        r = user.registered
        info["registrationdate"] = f"{r[:4]}-{r[4:6]}-{r[6:8]}T{r[8:10]}:{r[10:12]}:{r[12:14]}Z"
    if "centralids" in props:
        info["centralids"] = {"CentralAuth": user.central_id, "local": user.id}
        info["attachedlocal"] = {"CentralAuth": ctx.flag(), "local": ctx.flag()}
    return info


def siteinfo(ctx: ApiContext) -> dict[str, Any]:
    base = ctx.urls.base
    name = "Wikimedia Commons" if ctx.site == "commons" else "Wikidata"
    return {"general": {
        "mainpage": "Main Page", "base": f"{ctx.urls.wiki(ctx.site)}Main_Page",
        "sitename": name, "generator": "MediaWiki 1.45.0-wmf.standin",
        "wikiid": "commonswiki" if ctx.site == "commons" else "wikidatawiki",
        "server": base, "servername": base.split("//", 1)[-1],
        "articlepath": f"/{ctx.site}/wiki/$1", "scriptpath": f"/{ctx.site}/w",
        "script": f"/{ctx.site}/w/index.php", "lang": "en", "maxuploadsize": 5368709120,
    }}
