"""Invite codes: unguessable, stored only as a SHA-256 hash, with expiry, use count, revocation.

A code is ``secrets.token_urlsafe(24)`` (192 bits) and is shown to its creator once. Redeeming
is one conditional UPDATE (``uses_left = uses_left - 1 WHERE uses_left > 0 AND not revoked AND
not expired``), so two people racing for the last use cannot both get it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Case, Connection, Row, case, insert, or_, select, update

from likeness.db import members
from likeness.db.schema import inserted_id, invites, utcnow

CODE_BYTES = 24
MAX_CODE_LENGTH = 100
HINT_LENGTH = 6


class InviteError(Exception):
    """The code cannot be used; ``reason`` is one of unknown, expired, used_up, revoked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Invite:
    id: int
    project_id: int
    hint: str
    role: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    uses_left: int | None
    revoked_at: dt.datetime | None

    def state(self, now: dt.datetime | None = None) -> str:
        """active | revoked | expired | used_up"""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        if self.uses_left is not None and self.uses_left <= 0:
            return "used_up"
        return "active"


@dataclass(frozen=True)
class Joined:
    project_id: int
    new_member: bool


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def create(conn: Connection, project_id: int, created_by: int, *,
           expires_at: dt.datetime | None = None, uses: int | None = None,
           role: str = "labeller") -> tuple[str, Invite]:
    """A new code (returned once, never stored) and its row."""
    if uses is not None and uses < 1:
        raise ValueError("uses must be at least 1 (or None for unlimited)")
    if role != "labeller":
        raise ValueError("invites grant the labeller role")
    code = secrets.token_urlsafe(CODE_BYTES)
    invite_id = inserted_id(conn.execute(insert(invites).values(
        project_id=project_id, code_hash=hash_code(code), code_hint=code[:HINT_LENGTH],
        role=role, created_by=created_by, expires_at=expires_at, uses_left=uses,
    )))
    return code, get(conn, project_id, invite_id)  # type: ignore[return-value]


def _from_row(row: Row[Any]) -> Invite:
    return Invite(row.id, row.project_id, row.code_hint, row.role, row.created_at,
                  row.expires_at, row.uses_left, row.revoked_at)


def get(conn: Connection, project_id: int, invite_id: int) -> Invite | None:
    row = conn.execute(select(invites).where(invites.c.id == invite_id,
                                             invites.c.project_id == project_id)).first()
    return _from_row(row) if row else None


def list_for_project(conn: Connection, project_id: int, limit: int = 500) -> list[Invite]:
    rows = conn.execute(select(invites).where(invites.c.project_id == project_id)
                        .order_by(invites.c.id.desc()).limit(limit)).all()
    return [_from_row(row) for row in rows]


def revoke(conn: Connection, project_id: int, invite_id: int) -> bool:
    return conn.execute(update(invites).where(
        invites.c.id == invite_id, invites.c.project_id == project_id,
        invites.c.revoked_at.is_(None)).values(revoked_at=utcnow())).rowcount == 1


def find(conn: Connection, code: str) -> Invite | None:
    """The invite a code belongs to, whatever its state (None for an unknown code)."""
    if not code or len(code) > MAX_CODE_LENGTH:
        return None
    row = conn.execute(select(invites).where(invites.c.code_hash == hash_code(code))).first()
    return _from_row(row) if row else None


def redeem(conn: Connection, code: str, user_id: int) -> Joined:
    """Join the code's project. An existing member spends no use. Raises InviteError."""
    invite = find(conn, code)
    if invite is None:
        raise InviteError("unknown")
    if members.role_of(conn, invite.project_id, user_id) is not None:
        return Joined(invite.project_id, False)
    now = utcnow()
    spent = conn.execute(update(invites).where(
        invites.c.id == invite.id,
        invites.c.revoked_at.is_(None),
        or_(invites.c.expires_at.is_(None), invites.c.expires_at > now),
        or_(invites.c.uses_left.is_(None), invites.c.uses_left > 0),
    ).values(uses_left=_decrement())).rowcount
    if spent != 1:
        raise InviteError(invite.state(now) if invite.state(now) != "active" else "used_up")
    added = members.add(conn, invite.project_id, user_id, invite.role, invite.id)
    return Joined(invite.project_id, added)


def _decrement() -> Case[Any]:
    return case((invites.c.uses_left.is_(None), None), else_=invites.c.uses_left - 1)


__all__ = ["Invite", "InviteError", "Joined", "create", "find", "get", "hash_code",
           "list_for_project", "redeem", "revoke"]
