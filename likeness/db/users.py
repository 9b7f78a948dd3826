"""Users and their OAuth tokens (always encrypted at rest through a TokenCipher)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from likeness.crypto import TokenCipher
from likeness.db.schema import inserted_id, users, utcnow


@dataclass(frozen=True)
class User:
    id: int
    wiki_user_id: int
    username: str
    session_generation: int = 0  # sessions made under an older generation are refused


@dataclass(frozen=True)
class Tokens:
    access_token: str | None
    refresh_token: str | None
    expires_at: dt.datetime | None

    def expires_within(self, seconds: float, now: dt.datetime | None = None) -> bool:
        if self.expires_at is None:
            return False
        return self.expires_at <= (now or utcnow()) + dt.timedelta(seconds=seconds)


def upsert(conn: Connection, wiki_user_id: int, username: str) -> User:
    """Find the user by central id (names can change) or create them; keep the name current.

    Two first logins of one person at once both miss the row; the second insert then fails on
    the unique key inside its savepoint, and that login updates the row the first one made.
    """
    user_id = _id_for(conn, wiki_user_id)
    if user_id is None:
        try:
            with conn.begin_nested():
                user_id = inserted_id(conn.execute(insert(users).values(
                    wiki_user_id=wiki_user_id, username=username, last_seen_at=utcnow(),
                )))
            return User(user_id, wiki_user_id, username)
        except IntegrityError:  # the other login's row is there now
            user_id = _id_for(conn, wiki_user_id)
            if user_id is None:
                raise
    conn.execute(update(users).where(users.c.id == user_id).values(
        username=username, last_seen_at=utcnow()))
    user = get(conn, user_id)
    assert user is not None
    return user


def _id_for(conn: Connection, wiki_user_id: int) -> int | None:
    return conn.execute(select(users.c.id).where(users.c.wiki_user_id == wiki_user_id)
                        ).scalar_one_or_none()


def get(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(users.c.id, users.c.wiki_user_id, users.c.username,
                              users.c.session_generation)
                       .where(users.c.id == user_id)).first()
    return User(row.id, row.wiki_user_id, row.username, row.session_generation) if row else None


def end_sessions(conn: Connection, user_id: int) -> None:
    """Every session of this user ends, on every device (logout)."""
    conn.execute(update(users).where(users.c.id == user_id).values(
        session_generation=users.c.session_generation + 1))


def store_tokens(conn: Connection, user_id: int, cipher: TokenCipher, tokens: Tokens) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(
        access_token=cipher.encrypt(tokens.access_token),
        refresh_token=cipher.encrypt(tokens.refresh_token),
        token_expires_at=tokens.expires_at,
    ))


def load_tokens(conn: Connection, user_id: int, cipher: TokenCipher) -> Tokens | None:
    row = conn.execute(select(users.c.access_token, users.c.refresh_token,
                              users.c.token_expires_at).where(users.c.id == user_id)).first()
    if row is None or row.access_token is None:
        return None
    return Tokens(cipher.decrypt(row.access_token), cipher.decrypt(row.refresh_token),
                  row.token_expires_at)


def load_tokens_for_update(conn: Connection, user_id: int, cipher: TokenCipher) -> Tokens | None:
    """Like load_tokens, but locks the row so only one process refreshes a rotating token."""
    query = select(users.c.access_token, users.c.refresh_token, users.c.token_expires_at).where(
        users.c.id == user_id)
    if conn.dialect.name != "sqlite":  # SQLite's IMMEDIATE transaction already serialises
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None or row.access_token is None:
        return None
    return Tokens(cipher.decrypt(row.access_token), cipher.decrypt(row.refresh_token),
                  row.token_expires_at)


def clear_tokens(conn: Connection, user_id: int) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(
        access_token=None, refresh_token=None, token_expires_at=None))


def touch_last_seen(conn: Connection, user_id: int) -> None:
    """Record activity (the retention policy reads last_seen_at)."""
    conn.execute(update(users).where(users.c.id == user_id).values(last_seen_at=utcnow()))


@dataclass(frozen=True)
class StoredRights:
    state: str | None            # ok | blocked | no_grant; None = never checked
    note: str | None
    checked_at: dt.datetime | None


def store_rights(conn: Connection, user_id: int, state: str, note: str) -> None:
    """What Commons said about the user's editing rights (likeness.edits.rights)."""
    conn.execute(update(users).where(users.c.id == user_id).values(
        edit_rights=state[:16], edit_rights_note=note[:500] or None,
        rights_checked_at=utcnow()))


def load_rights(conn: Connection, user_id: int) -> StoredRights:
    row = conn.execute(select(users.c.edit_rights, users.c.edit_rights_note,
                              users.c.rights_checked_at).where(users.c.id == user_id)).first()
    if row is None:
        return StoredRights(None, None, None)
    return StoredRights(row.edit_rights, row.edit_rights_note, row.rights_checked_at)
