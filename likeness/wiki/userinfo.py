"""Can this login edit Commons? ``meta=userinfo`` with ``uiprop=blockinfo|rights``.

Read with the user's own OAuth token: Extension:OAuth limits the listed rights to the grants
the login carries, so a token without the 'Edit existing pages' grant has no ``edit`` right,
and ``blockid`` is present while the account is blocked. A partial block (some pages or
namespaces) is reported but does not stop sending: each edit then says whether it was refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from likeness.wiki.api import ActionApi

OK, BLOCKED, NO_GRANT = "ok", "blocked", "no_grant"


@dataclass(frozen=True)
class EditRights:
    state: str          # ok | blocked | no_grant
    note: str = ""      # the block's reason and expiry, or what is missing

    @property
    def can_edit(self) -> bool:
        return self.state == OK


def edit_rights(api: ActionApi) -> EditRights:
    doc = api.get({"action": "query", "meta": "userinfo", "uiprop": "blockinfo|rights"})
    return rights_from_userinfo(doc.get("query", {}).get("userinfo", {}))


def rights_from_userinfo(info: dict[str, Any]) -> EditRights:
    if "blockid" in info:
        reason = str(info.get("blockreason") or "").strip()
        expiry = str(info.get("blockexpiry") or "").strip()
        note = "; ".join(part for part in (reason, f"expiry: {expiry}" if expiry else "") if part)
        if not info.get("blockpartial"):
            return EditRights(BLOCKED, note[:500])
        return EditRights(OK, f"partial block: {note}"[:500])
    if "edit" not in (info.get("rights") or ()):
        return EditRights(NO_GRANT, "The login lacks the 'edit' right (grant 'Edit existing "
                                    "pages').")
    return EditRights(OK)
