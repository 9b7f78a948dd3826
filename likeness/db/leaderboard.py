"""Leaderboards: how many distinct faces each person answered (not clicks, not images).

Counted answers: yes, no, not_face, approve, reject; an answer later taken back by an ``undo``
decision does not count. Skips do not count.

Projects are private, and so is who works on them: the overall board names only the viewer and
people who share a project with the viewer; everyone else is a count without a name.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from likeness.db.schema import decisions, project_members, users

COUNTED = ("yes", "no", "not_face", "approve", "reject")


@dataclass(frozen=True)
class Entry:
    rank: int
    user_id: int | None  # None (with username) when the viewer may not know who it is
    username: str | None
    faces: int


def leaderboard(conn: Connection, project_id: int | None = None, limit: int = 50, *,
                viewer_id: int | None = None) -> list[Entry]:
    """Top answerers of one project (for its members), or of all projects when ``project_id``
    is None, named only where ``viewer_id`` shares a project with them."""
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
    named = None if project_id is not None else _known_to(conn, viewer_id,
                                                          [row.user_id for row in rows])
    return [Entry(i + 1, row.user_id, row.username, int(row.faces))
            if named is None or row.user_id in named else Entry(i + 1, None, None, int(row.faces))
            for i, row in enumerate(rows)]


def _known_to(conn: Connection, viewer_id: int | None, user_ids: list[int]) -> set[int]:
    """Of ``user_ids``, the viewer and those sharing at least one project with the viewer."""
    if viewer_id is None:
        return set()
    mine = select(project_members.c.project_id).where(project_members.c.user_id == viewer_id)
    shared = conn.execute(select(project_members.c.user_id).distinct().where(
        project_members.c.project_id.in_(mine), project_members.c.user_id.in_(user_ids)))
    return {viewer_id, *shared.scalars()}
