"""Can a user edit Commons? Asked with the user's own token at login, before labelling and
before sending, and kept in ``users.edit_rights``, so every page can say at once what a blocked
account, or a login without the editing grant, can still do, instead of queueing edits that
each fail with 'permissiondenied'.

An unanswered check (Commons or OAuth down, no stored token) changes nothing: the last known
state stays, and sending is refused only on a definite answer.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Engine

from likeness.config import Config
from likeness.db import users as users_db
from likeness.db.schema import utcnow
from likeness.db.users import StoredRights
from likeness.tokens import LoginRequired, OAuthUnavailable, fresh_access_token
from likeness.wiki.errors import WikiError
from likeness.wiki.factory import INTERACTIVE, make_clients
from likeness.wiki.userinfo import edit_rights

log = logging.getLogger(__name__)

RECHECK_SECONDS = 600       # a block can start or end at any time: ask again after this


def check(engine: Engine, cfg: Config, user_id: int) -> StoredRights:
    """Ask Commons now and store the answer; returns what is known afterwards."""
    try:
        token = fresh_access_token(engine, cfg, user_id)
        # A page waits for this call: one short try (the factory's interactive use).
        rights = edit_rights(make_clients(cfg, token, use=INTERACTIVE).commons)
    except (LoginRequired, OAuthUnavailable, WikiError) as exc:
        log.info("rights.unknown", extra={"user": user_id, "error": str(exc)[:200]})
        with engine.connect() as conn:
            return users_db.load_rights(conn, user_id)
    with engine.begin() as conn:
        users_db.store_rights(conn, user_id, rights.state, rights.note)
        stored = users_db.load_rights(conn, user_id)
    if not rights.can_edit:
        log.info("rights.cannot_edit", extra={"user": user_id, "state": rights.state})
    return stored


def current(engine: Engine, cfg: Config, user_id: int,
            max_age: float = RECHECK_SECONDS) -> StoredRights:
    """The stored answer, asked again first when it is older than ``max_age`` seconds."""
    with engine.connect() as conn:
        stored = users_db.load_rights(conn, user_id)
    fresh = stored.checked_at is not None and (
        utcnow() - stored.checked_at < dt.timedelta(seconds=max_age))
    return stored if fresh else check(engine, cfg, user_id)
