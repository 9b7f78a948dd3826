"""The ask-queue: which faces a labeller sees next, reserved so nobody else sees them meanwhile.

A face is askable when it is unlabelled, active, encoded, not skipped by this user (an undone
skip counts as not skipped) and not reserved by someone else. Order: provisional seeds first,
then ``priority`` (set by model runs, lower first), then id, then faces not yet scored; each scan
walks ``ix_faces_queue (project_id, label, priority)``.

Reservations are short (``RESERVE_SECONDS``) and renewed while the page holds the face; a
closed tab's faces become free again when they expire. Reserving is one transaction: select
with ``FOR UPDATE SKIP LOCKED`` on MariaDB (two labellers never wait for or get the same rows),
or under SQLite's IMMEDIATE transactions, then stamp ``reserved_by``/``reserved_until``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Update, and_, exists, or_, select, true, update

from likeness.db import progress
from likeness.db.schema import decisions, faces, images, utcnow
from likeness.model.stop import UNLIKELY

RESERVE_SECONDS = 120
MAX_BATCH = 20
SKIP_LIST_MAX = 2000


@dataclass(frozen=True)
class QueuedFace:
    id: int
    image_id: int
    box: tuple[float, float, float, float]   # left, top, width, height: fractions of the image
    score: float | None
    source: str
    title: str
    page_id: int
    thumb_url: str | None
    thumb_width: int | None
    thumb_height: int | None
    reserved_until: dt.datetime
    # The other faces on the same image (context boxes), so the page needs no extra request.
    others: tuple[tuple[float, float, float, float], ...] = ()

    def as_json(self) -> dict:
        return {
            "id": self.id, "image_id": self.image_id,
            "box": dict(zip(("left", "top", "width", "height"), self.box, strict=True)),
            "score": self.score, "source": self.source, "title": self.title,
            "page_id": self.page_id, "thumb_url": self.thumb_url,
            "thumb_width": self.thumb_width, "thumb_height": self.thumb_height,
            "reserved_until": self.reserved_until.isoformat() + "Z",
            "others": [dict(zip(("left", "top", "width", "height"), b, strict=True))
                       for b in self.others],
        }


def askable(project_id: int, user_id: int, now: dt.datetime,
            skipped: Sequence[int] | None = None) -> ColumnElement[bool]:
    """The WHERE clause of the queue (also used by tests and the benchmark's EXPLAIN).

    ``skipped``: the faces this user skipped here (from ``skipped_by``); None checks the
    decisions table per row instead (correct, but MariaDB materialises it: slower).
    """
    if skipped is None:
        skip = decisions.alias("s")
        undo = decisions.alias("u")
        not_skipped = ~exists().where(and_(
            skip.c.face_id == faces.c.id, skip.c.user_id == user_id, skip.c.answer == "skip",
            ~exists().where(and_(undo.c.undoes_id == skip.c.id, undo.c.answer == "undo"))))
    else:
        not_skipped = faces.c.id.not_in(list(skipped)) if skipped else true()
    return and_(
        faces.c.project_id == project_id,
        faces.c.label.is_(None),
        faces.c.state == "active",
        faces.c.detection_id.is_not(None),  # encoded (an active face's detection has one)
        or_(faces.c.reserved_until.is_(None), faces.c.reserved_until < now,
            faces.c.reserved_by == user_id),
        not_skipped,
    )


def skipped_by(conn: Connection, project_id: int, user_id: int,
               limit: int = SKIP_LIST_MAX) -> list[int] | None:
    """Faces this user skipped in the project and did not un-skip; None if more than
    ``limit`` answers would have to be read (then the queue checks per row)."""
    rows = conn.execute(
        select(decisions.c.id, decisions.c.face_id, decisions.c.answer, decisions.c.undoes_id)
        .where(decisions.c.user_id == user_id, decisions.c.project_id == project_id,
               decisions.c.answer.in_(("skip", "undo")))
        .limit(limit + 1)).all()
    if len(rows) > limit:
        return None
    undone = {r.undoes_id for r in rows if r.answer == "undo"}
    return sorted({r.face_id for r in rows if r.answer == "skip" and r.id not in undone})


def reserve_ids(conn: Connection, where: ColumnElement[bool], k: int, *,
                best_first: bool = False) -> list[int]:
    """Up to k ids in queue order (``best_first``: highest score first), locked (SKIP LOCKED)
    until the caller's commit.

    The order must follow an index (ix_faces_queue, or ix_faces_project_score backwards) so the
    scan stops after k rows: a sort (filesort) would lock every matching row and starve
    concurrent labellers.
    """
    index, order = (("ix_faces_project_score", (faces.c.score.desc(), faces.c.id.desc()))
                    if best_first else ("ix_faces_queue", (faces.c.priority, faces.c.id)))
    query = select(faces.c.id).where(where).order_by(*order).limit(k)
    if conn.dialect.name != "sqlite":
        # On small tables the optimizer prefers scan + sort, which locks every row.
        query = (query.with_hint(faces, f"FORCE INDEX ({index})", "mysql")
                 .with_hint(faces, f"FORCE INDEX ({index})", "mariadb")
                 .with_for_update(skip_locked=True))
    return [row.id for row in conn.execute(query)]


def next_faces(conn: Connection, project_id: int, user_id: int, k: int = 5, *,
               held: Sequence[int] = (), now: dt.datetime | None = None,
               reserve_seconds: int = RESERVE_SECONDS,
               include_unlikely: bool = False) -> list[QueuedFace]:
    """Renew the user's ``held`` reservations and reserve up to ``k`` more faces, in order.

    Call inside ``engine.begin()``. ``held`` are faces the page already shows or prefetched;
    they are not returned again. ``include_unlikely``: go on past the model's "done for now".
    """
    now = now or utcnow()
    until = now + dt.timedelta(seconds=reserve_seconds)
    held = [int(i) for i in held][:MAX_BATCH * 2]
    if held:
        renew(conn, user_id, held, until)
    k = max(0, min(int(k), MAX_BATCH))
    if k == 0:
        return []
    where = open_to(conn, project_id, user_id, held, now)
    # Each scan stops after k rows. First provisional seeds no model run has scored yet (a
    # model run ranks the seeds first itself).
    ids = reserve_ids(conn, and_(where, faces.c.priority.is_(None), faces.c.source == "seed"), k)
    if ids:
        where = and_(where, faces.c.id.not_in(ids))
    if progress.is_done(conn, project_id) and not include_unlikely:
        # Done for now: only the few faces the model does not find unlikely, likeliest first
        # (a range of ix_faces_project_score, not a walk over every unlikely face).
        ids += reserve_ids(conn, and_(where, faces.c.score >= UNLIKELY), k - len(ids),
                           best_first=True)
    else:
        # Scored faces by priority, then faces no model run has scored yet (new files), which
        # never jump ahead of them.
        for part in (faces.c.priority.is_not(None), faces.c.priority.is_(None)):
            if len(ids) < k:
                scan = and_(where, part, faces.c.id.not_in(ids)) if ids else and_(where, part)
                ids += reserve_ids(conn, scan, k - len(ids))
    return hand_out(conn, user_id, ids, until)


def open_to(conn: Connection, project_id: int, user_id: int, held: Sequence[int],
            now: dt.datetime) -> ColumnElement[bool]:
    """Faces this user may be handed now: askable, and not among those the page ``held``."""
    where = askable(project_id, user_id, now, skipped_by(conn, project_id, user_id))
    return and_(where, faces.c.id.not_in(held)) if held else where


def hand_out(conn: Connection, user_id: int, ids: list[int],
             until: dt.datetime) -> list[QueuedFace]:
    """Reserve ``ids`` (locked by reserve_ids) for the user until ``until``; their details,
    in that order."""
    if not ids:
        return []
    conn.execute(_by_primary_key(update(faces).where(faces.c.id.in_(ids))
                                 .values(reserved_by=user_id, reserved_until=until)))
    return _details(conn, ids, until)


def _by_primary_key(statement: Update) -> Update:
    """Lock faces rows through the primary key only. Scanning the reserved_by index instead
    locks its entries before the rows, the reverse of an answer (row first, then the index
    entry it changes): a renew racing the same user's answer deadlocked on MariaDB."""
    return (statement.with_hint("FORCE INDEX (PRIMARY)", dialect_name="mysql")
            .with_hint("FORCE INDEX (PRIMARY)", dialect_name="mariadb"))


def renew(conn: Connection, user_id: int, face_ids: Sequence[int], until: dt.datetime) -> int:
    """Extend this user's reservations (only those still theirs); returns how many."""
    return conn.execute(_by_primary_key(
        update(faces).where(faces.c.id.in_(sorted(face_ids)), faces.c.reserved_by == user_id,
                            faces.c.label.is_(None))
        .values(reserved_until=until))).rowcount


def release(conn: Connection, user_id: int, face_ids: Sequence[int]) -> int:
    """Give faces back (the page was closed): others may get them at once."""
    if not face_ids:
        return 0
    return conn.execute(_by_primary_key(
        update(faces).where(faces.c.id.in_(sorted(face_ids)), faces.c.reserved_by == user_id)
        .values(reserved_by=None, reserved_until=None))).rowcount


def face_details(conn: Connection, face_ids: Sequence[int]) -> list[QueuedFace]:
    """The same view of faces without reserving them (e.g. the face an undo brings back)."""
    return _details(conn, list(face_ids), None)


def _details(conn: Connection, ids: list[int], until: dt.datetime | None) -> list[QueuedFace]:
    rows = conn.execute(
        select(faces.c.id, faces.c.image_id, faces.c.box_left, faces.c.box_top,
               faces.c.box_width, faces.c.box_height, faces.c.score, faces.c.source,
               faces.c.reserved_until, images.c.title, images.c.page_id, images.c.thumb_url,
               images.c.thumb_width, images.c.thumb_height)
        .join(images, images.c.id == faces.c.image_id)
        .where(faces.c.id.in_(ids))
    ).all()
    by_id = {row.id: row for row in rows}
    # Faces of an image are few; ix_faces_image serves this in one query for the batch.
    others: dict[int, list[tuple[int, tuple[float, float, float, float]]]] = {}
    for o in conn.execute(
            select(faces.c.id, faces.c.image_id, faces.c.box_left, faces.c.box_top,
                   faces.c.box_width, faces.c.box_height)
            .where(faces.c.image_id.in_({row.image_id for row in rows}),
                   faces.c.state.not_in(("replaced", "superseded"))).order_by(faces.c.id)):
        others.setdefault(o.image_id, []).append(
            (o.id, (o.box_left, o.box_top, o.box_width, o.box_height)))
    return [
        QueuedFace(
            id=row.id, image_id=row.image_id,
            box=(row.box_left, row.box_top, row.box_width, row.box_height),
            score=row.score, source=row.source, title=row.title, page_id=row.page_id,
            thumb_url=row.thumb_url, thumb_width=row.thumb_width,
            thumb_height=row.thumb_height,
            reserved_until=until or row.reserved_until or utcnow(),
            others=tuple(box for fid, box in others.get(row.image_id, []) if fid != row.id),
        )
        for row in (by_id[i] for i in ids if i in by_id)
    ]
