"""Telling a user at once what Commons lets them do: at login, on every page (a banner from
the stored answer), and before labelling and sending (asked again when it is old).
The checking itself is ``likeness.edits.rights``."""

from __future__ import annotations

from typing import Any

from flask import Flask, flash
from flask_babel import gettext as _

from likeness.db import users as users_db
from likeness.db.users import StoredRights
from likeness.edits import rights
from webapp.access import maybe_user
from webapp.context import config, engine


def message(stored: StoredRights) -> str | None:
    """What the account cannot do and what it still can, or None when it can edit."""
    note = f" ({stored.note})" if stored.note else ""
    if stored.state == "blocked":
        return _("Your account is blocked on Wikimedia Commons%(note)s, so Likeness cannot "
                 "write to Commons with it while the block lasts. You can still open your "
                 "projects and label faces; sending edits with your account is not possible.",
                 note=note)
    if stored.state == "no_grant":
        return _("Your login does not allow Likeness to edit Commons for you (the 'Edit "
                 "existing pages' grant is missing). You can still label and review faces. "
                 "To send edits, log out and log in again, allowing Likeness to edit.")
    return None


def rights_json(stored: StoredRights) -> dict[str, Any]:
    return {"state": stored.state or "unknown", "note": stored.note,
            "message": message(stored)}


def announce(user_id: int) -> None:
    """After a login: ask Commons now and, if the account cannot edit, say so at once."""
    text = message(rights.check(engine(), config(), user_id))
    if text:
        flash(text, "warning")


def refresh() -> StoredRights | None:
    """Before labelling or sending: the current user's rights, asked again when old."""
    user = maybe_user()
    return rights.current(engine(), config(), user.id) if user else None


def banner() -> str | None:
    """For base.html: the stored answer for the current user (no request to Commons)."""
    user = maybe_user()
    if user is None:
        return None
    with engine().connect() as conn:
        return message(users_db.load_rights(conn, user.id))


def init_rights(app: Flask) -> None:
    app.jinja_env.globals["edit_rights_banner"] = banner
