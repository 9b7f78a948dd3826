"""Depicts edits to Commons: the queue, its state machine, and the reports the pages show.

One row per (page_id, qid) across all projects (unique key): a second project, or a second
press of 'Send edits', never makes a second row, so the pair is written at most once.

States::

    pending --claim--> sending --+--> done       (written, or found already written by us)
       ^                         +--> skipped    (already on Commons / changed by others)
       |                         +--> failed     (code, message, retryable)
       +------- postpone --------+               (maxlag, throttling, unknown outcome)
    sending with an expired lease is claimable again: the sender re-reads the live entity first.
    pending --cancel--> cancelled (the face behind it was rejected before sending)
    done (we created it) --queue removal--> pending with action 'remove' --> done | skipped

Pacing and "one user at a time" use only the ``ix_edits_state_next_try`` index: after a send,
the finished row keeps ``next_try_at = now + pace`` as a marker; a user with a live 'sending'
lease or such a marker is busy. On MariaDB the claim then locks the sender's ``users`` row, so
two workers cannot both decide that the same user is idle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    case,
    exists,
    func,
    insert,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from likeness.db.schema import decisions, edits, faces, images, model_runs, projects, users, utcnow

STATES = ("pending", "sending", "done", "failed", "skipped", "cancelled")
ACTIONS = ("add", "qualify", "remove")
# Rows that mark a user as backing off or paced: finished rows keep next_try_at = pace end.
_MARKER_STATES = ("done", "failed", "skipped")
# Decisions that count as a person confirming a face ('seed' answers are provisional).
HUMAN_YES = ("yes", "approve")
MAX_SEND_ATTEMPTS = 12


@dataclass(frozen=True)
class Edit:
    id: int
    page_id: int
    qid: str
    title: str
    project_id: int | None
    face_id: int | None
    user_id: int | None
    action: str
    region: str | None
    state: str
    batch_id: str | None
    created_statement: bool
    statement_id: str | None
    written_json: str | None
    revision_id: int | None
    error_code: str | None
    error_message: str | None
    retryable: bool | None
    attempts: int
    next_try_at: dt.datetime | None
    lease_owner: str | None
    updated_at: dt.datetime | None

    @property
    def entity_id(self) -> str:
        return f"M{self.page_id}"


def _edit(row: Any) -> Edit:
    return Edit(
        row.id, row.page_id, row.qid, row.title, row.project_id, row.face_id, row.user_id,
        row.action, row.region, row.state, row.batch_id, bool(row.created_statement),
        row.statement_id, row.written_json, row.revision_id, row.error_code, row.error_message,
        row.retryable, row.attempts, row.next_try_at, row.lease_owner, row.updated_at,
    )


def get(conn: Connection, edit_id: int) -> Edit | None:
    row = conn.execute(select(edits).where(edits.c.id == edit_id)).first()
    return _edit(row) if row else None


def for_pair(conn: Connection, page_id: int, qid: str) -> Edit | None:
    row = conn.execute(select(edits).where(edits.c.page_id == page_id,
                                           edits.c.qid == qid)).first()
    return _edit(row) if row else None


# --- what a project wants ---------------------------------------------------------------------

@dataclass(frozen=True)
class ConfirmedFace:
    face_id: int
    image_id: int
    page_id: int
    title: str
    thumb_url: str | None
    box: tuple[float, float, float, float]
    thumb_width: int | None = None
    thumb_height: int | None = None


_FACE_COLUMNS = (faces.c.id, faces.c.image_id, images.c.page_id, images.c.title,
                 images.c.thumb_url, images.c.thumb_width, images.c.thumb_height,
                 faces.c.box_left, faces.c.box_top, faces.c.box_width, faces.c.box_height)


def _confirmed(r: Any) -> ConfirmedFace:
    return ConfirmedFace(r.id, r.image_id, r.page_id, r.title, r.thumb_url,
                         (r.box_left, r.box_top, r.box_width, r.box_height),
                         r.thumb_width, r.thumb_height)


def confirmed_faces(conn: Connection, project_id: int) -> list[ConfirmedFace]:
    """Active faces of the project labelled 'yes' that a person confirmed (not only seeded)."""
    human = exists().where(decisions.c.face_id == faces.c.id,
                           decisions.c.answer.in_(HUMAN_YES), decisions.c.via != "seed")
    rows = conn.execute(
        select(*_FACE_COLUMNS)
        .join(images, images.c.id == faces.c.image_id)
        .where(faces.c.project_id == project_id, faces.c.label == "yes",
               faces.c.state == "active", human)
        .order_by(images.c.page_id, faces.c.id)
    )
    return [_confirmed(r) for r in rows]


def confirmed_faces_for_pair(conn: Connection, page_id: int, qid: str) -> list[ConfirmedFace]:
    """Every confirmed face of ``qid`` on the file, across projects on that Q-id."""
    human = exists().where(decisions.c.face_id == faces.c.id,
                           decisions.c.answer.in_(HUMAN_YES), decisions.c.via != "seed")
    rows = conn.execute(
        select(*_FACE_COLUMNS)
        .join(images, images.c.id == faces.c.image_id)
        .join(projects, projects.c.id == faces.c.project_id)
        .where(images.c.page_id == page_id, projects.c.qid == qid, faces.c.label == "yes",
               faces.c.state == "active", human)
        .order_by(faces.c.id)
    )
    return [_confirmed(r) for r in rows]


def existing_pairs(conn: Connection, page_ids: Sequence[int], qid: str) -> dict[int, Edit]:
    """Edit rows already present for these files and Q-id (from any project)."""
    out: dict[int, Edit] = {}
    ids = list(page_ids)
    for start in range(0, len(ids), 500):
        rows = conn.execute(select(edits).where(edits.c.qid == qid,
                                                edits.c.page_id.in_(ids[start:start + 500])))
        out.update({r.page_id: _edit(r) for r in rows})
    return out


def latest_precision(conn: Connection, project_id: int) -> tuple[float | None, int | None]:
    """(precision_estimate, model run id) of the project's latest model run."""
    row = conn.execute(select(model_runs.c.id, model_runs.c.precision_estimate)
                       .where(model_runs.c.project_id == project_id)
                       .order_by(model_runs.c.id.desc()).limit(1)).first()
    return (row.precision_estimate, row.id) if row else (None, None)


# --- queueing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Wanted:
    """One statement a project wants: P180=qid on the file, with the face's region."""

    page_id: int
    title: str
    qid: str
    face_id: int
    region: str


@dataclass(frozen=True)
class QueueResult:
    queued: int        # new rows (or cancelled/undone rows taken up again)
    existing: int      # pairs some project already queued or wrote: nothing added


def queue(conn: Connection, wanted: Iterable[Wanted], *, project_id: int, user_id: int,
          batch_id: str, now: dt.datetime | None = None) -> QueueResult:
    """Create pending edits; a pair that already has a row gets no second one.

    Each insert runs in a savepoint, so a concurrent insert of the same pair (another project
    pressing 'Send edits' at the same moment) ends as 'existing' without spoiling the batch.
    """
    now = now or utcnow()
    queued = existing = 0
    for want in wanted:
        values = dict(page_id=want.page_id, qid=want.qid, title=want.title[:255],
                      project_id=project_id, face_id=want.face_id, user_id=user_id,
                      action="add", region=want.region, state="pending", batch_id=batch_id,
                      created_at=now, updated_at=now)
        try:
            with conn.begin_nested():
                conn.execute(insert(edits).values(**values))
            queued += 1
            continue
        except IntegrityError:
            pass
        if _take_up_again(conn, want, project_id, user_id, batch_id, now):
            queued += 1
        else:
            existing += 1
    return QueueResult(queued, existing)


def _take_up_again(conn: Connection, want: Wanted, project_id: int, user_id: int,
                   batch_id: str, now: dt.datetime) -> bool:
    """A cancelled edit, or one whose statement we removed again, may be queued anew."""
    reopen = or_(edits.c.state == "cancelled",
                 and_(edits.c.action == "remove", edits.c.state == "done"))
    result = conn.execute(update(edits).where(
        edits.c.page_id == want.page_id, edits.c.qid == want.qid, reopen,
    ).values(
        project_id=project_id, face_id=want.face_id, user_id=user_id, action="add",
        region=want.region, state="pending", batch_id=batch_id, created_statement=False,
        statement_id=None, written_json=None, error_code=None, error_message=None,
        retryable=None, attempts=0, next_try_at=None, lease_owner=None, lease_until=None,
        updated_at=now,
    ))
    return result.rowcount == 1


# --- claiming ---------------------------------------------------------------------------------

def _busy_users(now: dt.datetime) -> Any:
    """Users with an edit in flight, or paced / backing off after their last one."""
    return select(edits.c.user_id).where(edits.c.user_id.is_not(None), or_(
        and_(edits.c.state == "sending", edits.c.lease_until >= now),
        and_(edits.c.state.in_(_MARKER_STATES), edits.c.next_try_at > now),
        and_(edits.c.state == "pending", edits.c.next_try_at > now,
             edits.c.error_code.is_not(None)),
    ))


def _ready(now: dt.datetime) -> Any:
    return and_(edits.c.user_id.is_not(None), or_(
        and_(edits.c.state == "pending",
             or_(edits.c.next_try_at.is_(None), edits.c.next_try_at <= now)),
        and_(edits.c.state == "sending", edits.c.lease_until < now),
    ))


def claim_next(conn: Connection, owner: str, lease_seconds: int,
               now: dt.datetime | None = None) -> Edit | None:
    """Claim one ready edit whose sender is idle, and mark it 'sending'.

    Call in its own ``engine.begin()`` and commit before any HTTP request: a crash after the
    commit leaves a 'sending' row whose lease expires, and the next claim re-reads the entity.
    """
    now = now or utcnow()
    sqlite = conn.dialect.name == "sqlite"
    candidate = (select(edits.c.id, edits.c.user_id)
                 .where(_ready(now), edits.c.user_id.not_in(_busy_users(now)))
                 .order_by(edits.c.id).limit(1))
    if not sqlite:
        candidate = candidate.with_for_update(skip_locked=True)
    row = conn.execute(candidate).first()
    if row is None:
        return None
    if not sqlite:
        # Serialise claims per sender; then look again with everything committed before us.
        # SKIP LOCKED: if another claim (or a token refresh) holds the user, try next round
        # rather than stall the worker loop.
        held = conn.execute(select(users.c.id).where(users.c.id == row.user_id)
                            .with_for_update(skip_locked=True)).first()
        if held is None:
            return None
        busy = conn.execute(_busy_users(now).where(edits.c.user_id == row.user_id,
                                                   edits.c.id != row.id).limit(1)).first()
        if busy is not None:
            return None
    result = conn.execute(update(edits).where(edits.c.id == row.id, _ready(now)).values(
        state="sending", lease_owner=owner,
        lease_until=now + dt.timedelta(seconds=lease_seconds),
        attempts=edits.c.attempts + 1, updated_at=now))
    if result.rowcount != 1:
        return None
    return get(conn, row.id)


def renew(conn: Connection, edit_id: int, owner: str, lease_seconds: int) -> bool:
    """Extend our lease before a write; False means another worker took the edit over."""
    result = conn.execute(update(edits).where(
        edits.c.id == edit_id, edits.c.lease_owner == owner, edits.c.state == "sending",
    ).values(lease_until=utcnow() + dt.timedelta(seconds=lease_seconds)))
    return result.rowcount == 1


def _ours(edit_id: int, owner: str) -> Any:
    return and_(edits.c.id == edit_id, edits.c.lease_owner == owner, edits.c.state == "sending")


def _finish_values(pace_seconds: float, now: dt.datetime) -> dict[str, Any]:
    return dict(lease_owner=None, lease_until=None, updated_at=now,
                next_try_at=now + dt.timedelta(seconds=pace_seconds))


def mark_done(conn: Connection, edit_id: int, owner: str, *, action: str,
              statement_id: str | None, revision_id: int | None, written_json: str | None,
              created_statement: bool, pace_seconds: float = 0.0,
              note: str | None = None) -> bool:
    now = utcnow()
    values: dict[str, Any] = dict(
        state="done", action=action, statement_id=statement_id, revision_id=revision_id,
        created_statement=created_statement, error_code=None, error_message=note,
        retryable=None, **_finish_values(pace_seconds, now))
    if written_json is not None:
        values["written_json"] = written_json
    return conn.execute(update(edits).where(_ours(edit_id, owner)).values(**values)).rowcount == 1


def mark_skipped(conn: Connection, edit_id: int, owner: str, *, code: str, message: str,
                 statement_id: str | None = None, pace_seconds: float = 0.0,
                 action: str | None = None) -> bool:
    """Nothing to write (already on Commons, or changed by others since we wrote it)."""
    now = utcnow()
    values: dict[str, Any] = dict(state="skipped", error_code=code[:64],
                                  error_message=message[:500], retryable=False,
                                  **_finish_values(pace_seconds, now))
    if statement_id is not None:
        values["statement_id"] = statement_id
    if action is not None:
        values["action"] = action
    return conn.execute(update(edits).where(_ours(edit_id, owner)).values(**values)).rowcount == 1


def mark_failed(conn: Connection, edit_id: int, owner: str, *, code: str, message: str,
                retryable: bool, pace_seconds: float = 0.0) -> bool:
    now = utcnow()
    return conn.execute(update(edits).where(_ours(edit_id, owner)).values(
        state="failed", error_code=code[:64], error_message=message[:500], retryable=retryable,
        **_finish_values(pace_seconds, now))).rowcount == 1


def postpone(conn: Connection, edit_id: int, owner: str, *, seconds: float, code: str,
             message: str) -> bool:
    """Back to 'pending' until ``seconds`` from now (maxlag, throttling, unknown outcome).

    The row's error code stays set, which makes the sender's other edits wait as well.
    """
    now = utcnow()
    return conn.execute(update(edits).where(_ours(edit_id, owner)).values(
        state="pending", error_code=code[:64], error_message=message[:500], retryable=True,
        next_try_at=now + dt.timedelta(seconds=max(seconds, 0.0)), lease_owner=None,
        lease_until=None, updated_at=now)).rowcount == 1


def cancel(conn: Connection, edit_id: int, owner: str, *, message: str) -> bool:
    now = utcnow()
    return conn.execute(update(edits).where(_ours(edit_id, owner)).values(
        state="cancelled", error_code="face_rejected", error_message=message[:500],
        retryable=False, lease_owner=None, lease_until=None, updated_at=now)).rowcount == 1


def set_action(conn: Connection, edit_id: int, owner: str, action: str) -> None:
    """Record what is about to be written, so a crash mid-POST is reconciled correctly."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    conn.execute(update(edits).where(_ours(edit_id, owner)).values(action=action))


def switch_face(conn: Connection, edit_id: int, owner: str, face_id: int, region: str) -> None:
    """The original face was rejected but another confirmed face shows the same person."""
    conn.execute(update(edits).where(_ours(edit_id, owner)).values(face_id=face_id,
                                                                   region=region))


def fail_user_pending(conn: Connection, user_id: int, *, code: str, message: str) -> int:
    """The sender can no longer write at all (login gone, blocked): fail their queued edits
    at once instead of trying each one against Commons and the OAuth endpoint."""
    return conn.execute(update(edits).where(
        edits.c.user_id == user_id, edits.c.state == "pending",
    ).values(state="failed", error_code=code[:64], error_message=message[:500],
             retryable=False, updated_at=utcnow())).rowcount


def fail_orphans(conn: Connection) -> int:
    """Pending edits whose sender's account is gone can never be sent."""
    now = utcnow()
    return conn.execute(update(edits).where(
        edits.c.state == "pending", edits.c.user_id.is_(None),
    ).values(state="failed", error_code="no_sender", retryable=False, updated_at=now,
             error_message="The account that asked for this edit no longer exists; "
                           "send it again from the project page.")).rowcount


# --- retry, undo, rejected faces --------------------------------------------------------------

def retry_failed(conn: Connection, project_id: int, user_id: int, batch_id: str) -> int:
    """Failed edits of the project go back to pending, sent by ``user_id``."""
    now = utcnow()
    return conn.execute(update(edits).where(
        edits.c.project_id == project_id, edits.c.state == "failed",
    ).values(state="pending", user_id=user_id, batch_id=batch_id, error_code=None,
             error_message=None, retryable=None, attempts=0, next_try_at=None,
             updated_at=now)).rowcount


def queue_undo(conn: Connection, project_id: int, user_id: int, batch_id: str) -> int:
    """Turn the project's written statements (ours only) into pending removals.

    The sender removes each one only if it still exists unchanged since we wrote it.
    Pending edits of the project that were never sent are cancelled.
    """
    now = utcnow()
    removals = conn.execute(update(edits).where(
        edits.c.project_id == project_id, edits.c.state == "done",
        edits.c.action == "add", edits.c.created_statement.is_(True),
    ).values(action="remove", state="pending", user_id=user_id, batch_id=batch_id,
             error_code=None, error_message=None, retryable=None, attempts=0,
             next_try_at=None, updated_at=now)).rowcount
    conn.execute(update(edits).where(
        edits.c.project_id == project_id, edits.c.state.in_(("pending", "failed")),
        edits.c.action != "remove",
    ).values(state="cancelled", error_code="undone", retryable=False, updated_at=now,
             error_message="Cancelled by 'Undo all edits' before it was sent."))
    return removals


def queue_removals_for_rejected(conn: Connection, limit: int = 100) -> int:
    """A face rejected after its statement was written: remove that statement (ours only).

    Only when no other confirmed face of the same person remains on the file (in any project
    on that Q-id); the removal is sent with the token of the person who wrote the statement.
    """
    now = utcnow()
    other_yes = (
        select(faces.c.id)
        .join(images, images.c.id == faces.c.image_id)
        .join(projects, projects.c.id == faces.c.project_id)
        .where(images.c.page_id == edits.c.page_id, projects.c.qid == edits.c.qid,
               faces.c.label == "yes", faces.c.state == "active")
    )
    rejected = (
        select(edits.c.id)
        .join(faces, faces.c.id == edits.c.face_id)
        .where(edits.c.state == "done", edits.c.action == "add",
               edits.c.created_statement.is_(True), faces.c.label.in_(("no", "not_face")),
               not_(exists(other_yes)))
        .limit(limit)
    )
    ids = [r.id for r in conn.execute(rejected)]
    if not ids:
        return 0
    return conn.execute(update(edits).where(edits.c.id.in_(ids), edits.c.state == "done").values(
        action="remove", state="pending", error_code=None, retryable=None, attempts=0,
        next_try_at=None, updated_at=now,
        error_message="The face was rejected after the statement was written.")).rowcount


# --- reports ----------------------------------------------------------------------------------

def progress(conn: Connection, project_id: int) -> dict[str, int]:
    """Count of the project's edits per state (every state present, zeros included)."""
    counts = dict.fromkeys(STATES, 0)
    rows = conn.execute(select(edits.c.state, func.count()).where(
        edits.c.project_id == project_id).group_by(edits.c.state))
    for state, n in rows:
        counts[state] = n
    counts["removed"] = conn.execute(select(func.count()).where(
        edits.c.project_id == project_id, edits.c.action == "remove",
        edits.c.state == "done")).scalar_one()
    return counts


def listing(conn: Connection, project_id: int, states: Sequence[str], limit: int = 100,
            offset: int = 0) -> list[Edit]:
    """The project's edits in the given states, newest change first."""
    order = case((edits.c.updated_at.is_(None), 1), else_=0)
    rows = conn.execute(select(edits).where(edits.c.project_id == project_id,
                                            edits.c.state.in_(list(states)))
                        .order_by(order, edits.c.updated_at.desc(), edits.c.id.desc())
                        .limit(limit).offset(offset))
    return [_edit(r) for r in rows]


def user_has_open(conn: Connection, user_id: int) -> bool:
    return conn.execute(select(edits.c.id).where(
        edits.c.user_id == user_id, edits.c.state.in_(("pending", "sending"))).limit(1)
    ).first() is not None


def project_settings(conn: Connection, project_id: int) -> Any:
    """The project fields the sender needs (qid, label, add_region_to_existing)."""
    return conn.execute(select(projects.c.id, projects.c.qid, projects.c.label,
                               projects.c.owner_id, projects.c.add_region_to_existing,
                               projects.c.members_can_send)
                        .where(projects.c.id == project_id)).first()


def face_label(conn: Connection, face_id: int | None) -> str | None:
    """The face's label while it is active (a face of a re-uploaded file's old version, or a
    replaced box, confirms nothing any more)."""
    if face_id is None:
        return None
    return conn.execute(select(faces.c.label).where(faces.c.id == face_id,
                                                    faces.c.state == "active")).scalar()
