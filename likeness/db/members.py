"""Project membership: who may see and label a project, and with which role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from likeness.db.schema import project_members, users

ROLES = ("owner", "labeller")


@dataclass(frozen=True)
class Member:
    user_id: int
    username: str
    role: str
    joined_at: dt.datetime


def role_of(conn: Connection, project_id: int, user_id: int) -> str | None:
    """The user's role in the project, or None when not a member."""
    return conn.execute(select(project_members.c.role).where(
        project_members.c.project_id == project_id,
        project_members.c.user_id == user_id)).scalar()


def add(conn: Connection, project_id: int, user_id: int, role: str = "labeller",
        invite_id: int | None = None) -> bool:
    """Add a member; False if they already were one (their role is left unchanged)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    try:
        with conn.begin_nested():
            conn.execute(insert(project_members).values(
                project_id=project_id, user_id=user_id, role=role, invite_id=invite_id))
    except IntegrityError:
        return False
    return True


def list_members(conn: Connection, project_id: int, limit: int = 1000) -> list[Member]:
    rows = conn.execute(
        select(project_members.c.user_id, users.c.username, project_members.c.role,
               project_members.c.joined_at)
        .join(users, users.c.id == project_members.c.user_id)
        .where(project_members.c.project_id == project_id)
        .order_by(project_members.c.role.desc(), users.c.username).limit(limit)
    ).all()
    return [Member(r.user_id, r.username, r.role, r.joined_at) for r in rows]


def remove(conn: Connection, project_id: int, user_id: int) -> bool:
    """Remove a labeller (leaving, or removed by the owner). The owner cannot be removed."""
    return conn.execute(delete(project_members).where(
        project_members.c.project_id == project_id,
        project_members.c.user_id == user_id,
        project_members.c.role != "owner")).rowcount == 1
