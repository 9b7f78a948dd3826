"""Leaderboards: how many distinct faces each person answered (not clicks, not images).

Counted answers: yes, no, not_face, approve, reject; an answer later taken back by an ``undo``
decision does not count. Skips do not count.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from likeness.db.schema import decisions, users

COUNTED = ("yes", "no", "not_face", "approve", "reject")


@dataclass(frozen=True)
class Entry:
    rank: int
    user_id: int
    username: str
    faces: int


def leaderboard(conn: Connection, project_id: int | None = None, limit: int = 50) -> list[Entry]:
    """Top answerers of one project, or of all projects when ``project_id`` is None."""
    undo = decisions.alias("undo")
    faces = func.count(func.distinct(decisions.c.face_id)).label("faces")
    query = (
        select(decisions.c.user_id, users.c.username, faces)
        .join(users, users.c.id == decisions.c.user_id)
        .outerjoin(undo, (undo.c.undoes_id == decisions.c.id) & (undo.c.answer == "undo"))
        .where(decisions.c.answer.in_(COUNTED), undo.c.id.is_(None))
        .group_by(decisions.c.user_id, users.c.username)
        .order_by(faces.desc(), users.c.username)
        .limit(limit)
    )
    if project_id is not None:
        query = query.where(decisions.c.project_id == project_id)
    rows = conn.execute(query).all()
    return [Entry(i + 1, row.user_id, row.username, int(row.faces)) for i, row in enumerate(rows)]
