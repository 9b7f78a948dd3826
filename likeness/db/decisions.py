"""Human answers about faces: record, undo (many levels), and the label cache they derive.

Decisions are append-only. ``faces.label`` caches the latest non-undone labelling answer of a
face (yes/approve -> 'yes', no/reject -> 'no', not_face -> 'not_face'; skip changes nothing) and
is written in the same transaction as the decision, so the two never disagree. Each answer may
carry a browser-generated ``client_token``: a retried POST with the same token returns the first
decision instead of recording a second one. A token names one request: sent again for another
project, face or kind of answer it is refused (``token_reused``), so it can never read what
the first request answered, e.g. the current label of a face in a project one has left.

A page of answers sent at once (the review grid, a grid page in classify) has one page token;
each answer's token is ``"<page token>:<face id>"``. ``undo_page`` takes back every answer of
the user's latest grid page in one undo.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from likeness.db import jobs
from likeness.db.schema import decisions, faces, inserted_id, projects, utcnow

LABEL_OF = {"yes": "yes", "approve": "yes", "no": "no", "reject": "no", "not_face": "not_face"}
ANSWERS = frozenset({"yes", "no", "not_face", "skip", "approve", "reject"})
VIA = frozenset({"classify", "grid", "review", "box", "seed"})
TOKEN_MAX = 64
ACTIVITY_RESOLUTION = dt.timedelta(minutes=10)


class DecisionError(ValueError):
    """The answer cannot be recorded; ``code`` is a short machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Recorded:
    decision_id: int
    face_id: int
    answer: str
    label: str | None          # the face's label after this decision
    duplicate: bool            # True when a retried POST found the first recording
    held: bool = True          # undo: the face is reserved for this user again
    page: bool = False         # undo: one of a whole grid page's answers taken back at once


def record(conn: Connection, *, project_id: int, face_id: int, user_id: int, answer: str,
           via: str = "classify", client_token: str | None = None,
           now: dt.datetime | None = None, touch: bool = True) -> Recorded:
    """Record one answer and update the face's label; call inside ``engine.begin()``.

    ``touch``: mark the project active first (callers that already did pass False).
    """
    if answer not in ANSWERS:
        raise DecisionError("bad_answer", f"unknown answer {answer!r}")
    if via not in VIA:
        raise DecisionError("bad_via", f"unknown screen {via!r}")
    check_token(client_token)
    same: dict[str, Any] = {"project_id": project_id, "via": via, "face_id": face_id}
    if client_token:
        previous = by_token(conn, user_id, client_token, **same)
        if previous is not None:
            return previous
    now = now or utcnow()
    if touch:
        touch_project(conn, project_id, now)
    face = conn.execute(
        select(faces.c.id, faces.c.label, faces.c.state)
        .where(faces.c.id == face_id, faces.c.project_id == project_id)
        .with_for_update()
    ).first()
    if face is None:
        raise DecisionError("no_face", f"face {face_id} is not in project {project_id}")
    try:
        with conn.begin_nested():
            decision_id = inserted_id(conn.execute(insert(decisions).values(
                project_id=project_id, face_id=face_id, user_id=user_id, answer=answer,
                via=via, client_token=client_token, created_at=now,
            )))
    except IntegrityError:
        # Two copies of the same retried POST raced; the other one recorded it.
        previous = by_token(conn, user_id, client_token, **same) if client_token else None
        if previous is None:
            raise
        return previous
    label = face.label
    if answer in LABEL_OF:
        # Labelled: out of everyone's queue, so nobody needs to hold it any more.
        label = LABEL_OF[answer]
        conn.execute(update(faces).where(faces.c.id == face_id).values(
            label=label, labelled_at=now, reserved_by=None, reserved_until=None))
    else:
        # Skipped: free it for others at once (it stays hidden from this user).
        conn.execute(update(faces).where(faces.c.id == face_id, faces.c.reserved_by == user_id)
                     .values(reserved_by=None, reserved_until=None))
    if answer != "skip":
        request_training(conn, project_id)
    return Recorded(decision_id, face_id, answer, label, False)


def undo_latest(conn: Connection, *, project_id: int, user_id: int,
                client_token: str | None = None, now: dt.datetime | None = None,
                reserve_seconds: int = 120) -> Recorded | None:
    """Take back this user's newest not-yet-undone answer in the project (a whole grid page,
    see undo_page); the first undo, or None if nothing is left."""
    undone = undo_page(conn, project_id=project_id, user_id=user_id, client_token=client_token,
                       now=now, reserve_seconds=reserve_seconds)
    return undone[0] if undone else None


def undo_page(conn: Connection, *, project_id: int, user_id: int,
              client_token: str | None = None, now: dt.datetime | None = None,
              reserve_seconds: int = 120) -> list[Recorded]:
    """Take back this user's newest answer in the project, and when it came from a grid page
    (via 'grid', client token ``"<page token>:<face id>"``), every answer of that page.

    Returns the undo decisions, one per face brought back (empty if nothing was left); each face
    is reserved for the user again unless someone else is being shown it, so the page can show
    it back at once. Idempotent per ``client_token``: a retry returns the first request's undos.
    """
    check_token(client_token)
    same: dict[str, Any] = {"project_id": project_id, "via": "classify", "undo": True}
    if client_token:
        previous = by_token(conn, user_id, client_token, **same)
        if previous is not None:
            return _page_undos(conn, user_id, previous)
    latest = _latest_answer(conn, project_id, user_id)
    if latest is None:
        return []
    prefix = page_prefix(latest.via, latest.client_token)
    now = now or utcnow()

    def targets() -> list[Any]:
        if prefix is None:
            return [latest]
        return [row for row in by_page_token(conn, user_id, prefix)
                if row.project_id == project_id and row.via == latest.via and not row.undone]

    # Lock the faces first, in id order: concurrent answers and undos on them serialise behind
    # us; then read the page again (another undo may have taken it back meanwhile).
    conn.execute(select(faces.c.id).where(faces.c.id.in_(sorted(r.face_id for r in targets())))
                 .order_by(faces.c.id).with_for_update())
    undone: list[Recorded] = []
    answers = set()
    for n, row in enumerate(targets()):
        # The first undo carries the request's token (a retry finds the page through it).
        try:
            with conn.begin_nested():
                decision_id = inserted_id(conn.execute(insert(decisions).values(
                    project_id=project_id, face_id=row.face_id, user_id=user_id,
                    answer="undo", undoes_id=row.id, via="classify",
                    client_token=client_token if n == 0 else None, created_at=now)))
        except IntegrityError:
            # The same retried request raced us and undid it first.
            previous = by_token(conn, user_id, client_token, **same) if client_token else None
            if previous is None:
                raise
            return _page_undos(conn, user_id, previous)
        done = _restore(conn, decision_id, row.face_id, user_id, now, reserve_seconds)
        undone.append(dataclasses.replace(done, page=prefix is not None))
        answers.add(row.answer)
    if answers - {"skip"}:
        request_training(conn, project_id)
    return undone


def page_prefix(via: str, client_token: str | None) -> str | None:
    """The page token shared by the answers of one grid page; None for any other answer."""
    if via != "grid" or not client_token or ":" not in client_token:
        return None
    return client_token.rsplit(":", 1)[0] + ":"


@dataclass(frozen=True)
class PageAnswer:
    id: int
    face_id: int
    answer: str
    project_id: int
    via: str
    undone: bool


def by_page_token(conn: Connection, user_id: int, prefix: str) -> list[PageAnswer]:
    """This user's answers whose client token starts with ``prefix`` (one page's answers),
    on the unique (user_id, client_token) index."""
    undo = decisions.alias("u")
    rows = conn.execute(
        select(decisions.c.id, decisions.c.face_id, decisions.c.answer, decisions.c.project_id,
               decisions.c.via,
               exists().where(and_(undo.c.undoes_id == decisions.c.id,
                                   undo.c.answer == "undo")).label("undone"))
        .where(decisions.c.user_id == user_id,
               decisions.c.client_token.startswith(prefix, autoescape=True))
        .order_by(decisions.c.id)).all()
    return [PageAnswer(r.id, r.face_id, r.answer, r.project_id, r.via, bool(r.undone))
            for r in rows]


def _latest_answer(conn: Connection, project_id: int, user_id: int) -> Any:
    """This user's newest not-undone answer in the project: a row (id, face_id, answer, via,
    client_token), or None."""
    undo = decisions.alias("u")
    return conn.execute(
        select(decisions.c.id, decisions.c.face_id, decisions.c.answer, decisions.c.via,
               decisions.c.client_token)
        .where(decisions.c.user_id == user_id, decisions.c.project_id == project_id,
               decisions.c.answer != "undo",
               ~exists().where(and_(undo.c.undoes_id == decisions.c.id,
                                    undo.c.answer == "undo")))
        .order_by(decisions.c.id.desc()).limit(1)
    ).first()


def _restore(conn: Connection, decision_id: int, face_id: int, user_id: int,
             now: dt.datetime, reserve_seconds: int) -> Recorded:
    """After an undo of one of its answers: the face's label again, held for the user unless
    someone else is being shown it right now (an undone skip: the face went back to the queue
    and another labeller may have it on screen)."""
    label, labelled_at = current_label(conn, face_id)
    conn.execute(update(faces).where(faces.c.id == face_id).values(
        label=label, labelled_at=labelled_at))
    held = conn.execute(update(faces).where(
        faces.c.id == face_id,
        faces.c.reserved_by.is_(None) | (faces.c.reserved_by == user_id)
        | (faces.c.reserved_until < now))
        .values(reserved_by=user_id,
                reserved_until=now + dt.timedelta(seconds=reserve_seconds))).rowcount
    return Recorded(decision_id, face_id, "undo", label, False, held=bool(held))


def _page_undos(conn: Connection, user_id: int, first: Recorded) -> list[Recorded]:
    """A retried undo: the undos the first request recorded (all of a page's, or the one)."""
    undo = decisions.alias("u")
    target = conn.execute(
        select(decisions.c.via, decisions.c.client_token)
        .join_from(undo, decisions, decisions.c.id == undo.c.undoes_id)
        .where(undo.c.id == first.decision_id)).first()
    prefix = page_prefix(target.via, target.client_token) if target is not None else None
    if prefix is None:
        return [first]
    rows = conn.execute(
        select(undo.c.id, undo.c.face_id)
        .join_from(decisions, undo, and_(undo.c.undoes_id == decisions.c.id,
                                         undo.c.answer == "undo", undo.c.user_id == user_id,
                                         undo.c.id >= first.decision_id))
        .where(decisions.c.user_id == user_id,
               decisions.c.client_token.startswith(prefix, autoescape=True))
        .order_by(undo.c.id)).all()
    labels = dict(conn.execute(select(faces.c.id, faces.c.label)
                               .where(faces.c.id.in_([r.face_id for r in rows]))).all())
    return [Recorded(r.id, r.face_id, "undo", labels.get(r.face_id), True, page=True)
            for r in rows]


def touch_project(conn: Connection, project_id: int, now: dt.datetime) -> None:
    """Note activity for the retention policy, at most every few minutes.

    Call it first in a transaction: inserting decisions and jobs takes shared locks on the
    project row (foreign keys), and two answers both upgrading theirs to write last_activity_at
    deadlock. Conditional, it writes (and locks) rarely; first, it never upgrades a lock.
    """
    conn.execute(update(projects).where(
        projects.c.id == project_id,
        (projects.c.last_activity_at.is_(None))
        | (projects.c.last_activity_at < now - ACTIVITY_RESOLUTION))
        .values(last_activity_at=now))


def current_label(conn: Connection, face_id: int) -> tuple[str | None, dt.datetime | None]:
    """The label derived from a face's decisions: its latest non-undone labelling answer."""
    undo = decisions.alias("u")
    row = conn.execute(
        select(decisions.c.answer, decisions.c.created_at)
        .where(decisions.c.face_id == face_id, decisions.c.answer.in_(tuple(LABEL_OF)),
               ~exists().where(and_(undo.c.undoes_id == decisions.c.id,
                                    undo.c.answer == "undo")))
        .order_by(decisions.c.id.desc()).limit(1)
    ).first()
    if row is None:
        return None, None
    return LABEL_OF[row.answer], row.created_at


def request_training(conn: Connection, project_id: int) -> None:
    """New answers: ask a worker to retrain (one open job per project).

    While a train job is still queued it will see this answer when it starts, so the common
    case is one indexed read instead of a failing insert in a savepoint.
    """
    jobs.enqueue_train(conn, project_id)


def history(conn: Connection, face_id: int) -> list:
    """All decisions about a face, oldest first (for tests and the face detail view)."""
    return list(conn.execute(
        select(decisions).where(decisions.c.face_id == face_id).order_by(decisions.c.id)))


def check_token(token: str | None) -> None:
    if token is not None and not (0 < len(token) <= TOKEN_MAX and token.isascii()):
        raise DecisionError("bad_token", f"client token must be 1-{TOKEN_MAX} ASCII characters")


def by_token(conn: Connection, user_id: int, token: str, *, project_id: int, via: str,
             face_id: int | None = None, undo: bool = False) -> Recorded | None:
    """The decision this user recorded with this client token, if any (a retried POST).

    The earlier request must be the same one: same project and screen, same face when given,
    an undo for an undo. Otherwise DecisionError ``token_reused``, and nothing is read.
    """
    row = conn.execute(
        select(decisions.c.id, decisions.c.face_id, decisions.c.answer, decisions.c.project_id,
               decisions.c.via)
        .where(decisions.c.user_id == user_id, decisions.c.client_token == token)
    ).first()
    if row is None:
        return None
    if (row.project_id != project_id or row.via != via or (row.answer == "undo") != undo
            or (face_id is not None and row.face_id != face_id)):
        raise DecisionError("token_reused", "This client token was already used for another "
                                            "request; send each request with a new token.")
    label = conn.execute(select(faces.c.label).where(faces.c.id == row.face_id)).scalar()
    return Recorded(row.id, row.face_id, row.answer, label, True)
