"""A project's faces and decisions for the API, a page at a time (cursor: the last id seen).
Encodings are never returned (biometric data stays in the database)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from likeness.db.schema import decisions, faces, images, users

MAX_PAGE = 500
LABELS = ("yes", "no", "not_face", "none")


@dataclass(frozen=True)
class FaceRow:
    id: int
    image_id: int
    page_id: int
    title: str
    box: tuple[float, float, float, float]
    source: str
    state: str
    label: str | None
    labelled_at: dt.datetime | None
    score: float | None
    thumb_url: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class DecisionRow:
    id: int
    face_id: int
    user_id: int
    username: str
    answer: str
    undoes_id: int | None
    via: str
    created_at: dt.datetime


def _page(rows: list[Any], limit: int) -> tuple[list[Any], int | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


def faces_page(conn: Connection, project_id: int, *, after: int | None = None,
               limit: int = 100, label: str | None = None) -> tuple[list[FaceRow], int | None]:
    """The project's faces by id; ``label`` 'none' means unlabelled."""
    query = (select(faces.c.id, faces.c.image_id, images.c.page_id, images.c.title,
                    faces.c.box_left, faces.c.box_top, faces.c.box_width, faces.c.box_height,
                    faces.c.source, faces.c.state, faces.c.label, faces.c.labelled_at,
                    faces.c.score, images.c.thumb_url, faces.c.created_at)
             .join(images, images.c.id == faces.c.image_id)
             .where(faces.c.project_id == project_id))
    if label == "none":
        query = query.where(faces.c.label.is_(None))
    elif label is not None:
        query = query.where(faces.c.label == label)
    if after is not None:
        query = query.where(faces.c.id > after)
    rows = conn.execute(query.order_by(faces.c.id).limit(min(limit, MAX_PAGE) + 1)).all()
    found = [FaceRow(r.id, r.image_id, r.page_id, r.title,
                     (r.box_left, r.box_top, r.box_width, r.box_height), r.source, r.state,
                     r.label, r.labelled_at, r.score, r.thumb_url, r.created_at) for r in rows]
    return _page(found, min(limit, MAX_PAGE))


def decisions_page(conn: Connection, project_id: int, *, after: int | None = None,
                   limit: int = 100, user_id: int | None = None,
                   face_id: int | None = None) -> tuple[list[DecisionRow], int | None]:
    """The project's decisions in the order they were made (append-only: undo is a row)."""
    query = (select(decisions.c.id, decisions.c.face_id, decisions.c.user_id,
                    users.c.username, decisions.c.answer, decisions.c.undoes_id,
                    decisions.c.via, decisions.c.created_at)
             .join(users, users.c.id == decisions.c.user_id)
             .where(decisions.c.project_id == project_id))
    if user_id is not None:
        query = query.where(decisions.c.user_id == user_id)
    if face_id is not None:
        query = query.where(decisions.c.face_id == face_id)
    if after is not None:
        query = query.where(decisions.c.id > after)
    rows = conn.execute(query.order_by(decisions.c.id).limit(min(limit, MAX_PAGE) + 1)).all()
    found = [DecisionRow(r.id, r.face_id, r.user_id, r.username, r.answer, r.undoes_id, r.via,
                         r.created_at) for r in rows]
    return _page(found, min(limit, MAX_PAGE))
