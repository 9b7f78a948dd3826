"""Depicts edits to Commons: the queue, its state machine, and the reports the pages show.

One row per (page_id, qid) across all projects (unique key): a second project, or a second
press of 'Send edits', never makes a second row, so the pair is written at most once.

States::

    pending --claim--> sending --+--> done       (written, or found already written by us)
       ^                         +--> skipped    (already on Commons / changed by others)
       |                         +--> failed     (code, message, retryable)
       +------- postpone --------+               (maxlag, throttling, unknown outcome)
    sending with an expired lease, or held by a dead worker (likeness.db.claims.free), is
    claimable again: the sender re-reads the live entity first.
    pending --cancel--> cancelled (the face behind it was rejected before sending)
    done (we created it) --queue removal--> pending with action 'remove' --> done | skipped

Pacing and "one user at a time" use only the ``ix_edits_state_next_try`` index: after a send,
the finished row keeps ``next_try_at = now + pace`` as a marker; a user with a live 'sending'
lease or such a marker is busy. On MariaDB the claim then locks the sender's ``users`` row, so
two workers cannot both decide that the same user is idle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

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

from likeness.db import claims, workers
from likeness.db.decisions import LABEL_OF
from likeness.db.schema import (
    decisions,
    edits,
    faces,
    images,
    project_members,
    projects,
    users,
    utcnow,
)

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
    undo_decision_id: int | None = None

    @property
    def entity_id(self) -> str:
        return f"M{self.page_id}"


def _edit(row: Any) -> Edit:
    return Edit(
        row.id, row.page_id, row.qid, row.title, row.project_id, row.face_id, row.user_id,
        row.action, row.region, row.state, row.batch_id, bool(row.created_statement),
        row.statement_id, row.written_json, row.revision_id, row.error_code, row.error_message,
        row.retryable, row.attempts, row.next_try_at, row.lease_owner, row.updated_at,
        row.undo_decision_id,
    )


def get(conn: Connection, edit_id: int) -> Edit | None:
    row = conn.execute(select(edits).where(edits.c.id == edit_id)).first()
    return _edit(row) if row else None


def for_pair(conn: Connection, page_id: int, qid: str) -> Edit | None:
    row = conn.execute(select(edits).where(edits.c.page_id == page_id,
                                           edits.c.qid == qid)).first()
    return _edit(row) if row else None


# --- what a project wants ---------------------------------------------------------------------

class ConfirmedFace(NamedTuple):
    """A face a person confirmed (a named tuple: projects load thousands per page view)."""

    face_id: int
    image_id: int
    page_id: int
    title: str
    thumb_url: str | None
    box: tuple[float, float, float, float]
    thumb_width: int | None = None
    thumb_height: int | None = None
    confirmed_by: int = 0          # id of the newest human yes/approve decision about it


def human_yes(face_id: Any) -> Any:
    """Decisions by which a person confirmed the face (seed answers are provisional)."""
    return and_(decisions.c.face_id == face_id, decisions.c.answer.in_(HUMAN_YES),
                decisions.c.via != "seed")


_FACE_COLUMNS = (faces.c.id, faces.c.image_id, images.c.page_id, images.c.title,
                 images.c.thumb_url, images.c.thumb_width, images.c.thumb_height,
                 faces.c.box_left, faces.c.box_top, faces.c.box_width, faces.c.box_height)


def _confirmed(r: Any) -> ConfirmedFace:
    # By position: thousands of rows per page view, and a Row's attribute access costs more.
    (face_id, image_id, page_id, title, thumb_url, thumb_width, thumb_height,
     left, top, width, height, confirmed_by) = r
    return ConfirmedFace(face_id, image_id, page_id, title, thumb_url,
                         (left, top, width, height), thumb_width, thumb_height,
                         confirmed_by or 0)


def _confirming(project_id: int) -> Any:
    """Subquery: the newest human yes/approve decision per face of the project, from the
    project's own decisions in one grouped pass (not a subquery per face)."""
    return (select(decisions.c.face_id, func.max(decisions.c.id).label("confirmed_by"))
            .where(decisions.c.project_id == project_id, decisions.c.answer.in_(HUMAN_YES),
                   decisions.c.via != "seed")
            .group_by(decisions.c.face_id).subquery("confirming"))


def confirmed_faces(conn: Connection, project_id: int) -> list[ConfirmedFace]:
    """Active faces of the project labelled 'yes' that a person confirmed (not only seeded),
    each with its newest confirming decision."""
    confirming = _confirming(project_id)
    rows = conn.execute(
        select(*_FACE_COLUMNS, confirming.c.confirmed_by)
        .join(images, images.c.id == faces.c.image_id)
        .join(confirming, confirming.c.face_id == faces.c.id)
        .where(faces.c.project_id == project_id, faces.c.label == "yes",
               faces.c.state == "active")
        .order_by(images.c.page_id, faces.c.id)
    )
    return [_confirmed(r) for r in rows]


def trusted_projects(user_id: Any, project_id: Any) -> Any:
    """Projects whose decisions may be written with ``user_id``'s token for ``project_id``'s
    edit: the user's own projects, and, when that project shares knowledge, the other projects
    that share too (the same opt-in as the model's shared positives). Someone else's answers
    in a project the sender does not belong to never decide what is written in her name.
    Arguments are ids or columns of an outer query (then the condition is correlated)."""
    member = select(project_members.c.project_id).where(project_members.c.user_id == user_id)
    here, other = projects.alias("trust_here"), projects.alias("trust_other")
    sharing = select(other.c.id).where(other.c.share_knowledge.is_(True))
    shares = exists().where(here.c.id == project_id, here.c.share_knowledge.is_(True))
    return or_(faces.c.project_id.in_(member), and_(shares, faces.c.project_id.in_(sharing)))


def confirmed_faces_for_pair(conn: Connection, page_id: int, qid: str, user_id: int,
                             project_id: int | None) -> list[ConfirmedFace]:
    """Confirmed faces of ``qid`` on the file that ``user_id`` may write for ``project_id``'s
    edit (``trusted_projects``), across the projects on that Q-id."""
    confirmed_by = (select(func.max(decisions.c.id)).where(human_yes(faces.c.id))
                    .scalar_subquery().label("confirmed_by"))
    rows = conn.execute(
        select(*_FACE_COLUMNS, confirmed_by)
        .join(images, images.c.id == faces.c.image_id)
        .join(projects, projects.c.id == faces.c.project_id)
        .where(images.c.page_id == page_id, projects.c.qid == qid, faces.c.label == "yes",
               faces.c.state == "active", exists().where(human_yes(faces.c.id)),
               trusted_projects(user_id, project_id))
        .order_by(faces.c.id)
    )
    return [_confirmed(r) for r in rows]


class PairState(NamedTuple):
    """What 'Send' needs to know of an existing edit row."""

    state: str
    action: str
    undo_decision_id: int | None


def confirmed_files(project_id: int) -> Any:
    """Subquery: the project's files with a face of the person a person confirmed, each with
    its newest confirming decision (``page_id``, ``confirmed_by``). Not correlated, so the
    database builds it once per query from the project's own rows."""
    confirming = _confirming(project_id)
    return (
        select(images.c.page_id, func.max(confirming.c.confirmed_by).label("confirmed_by"))
        .select_from(faces)
        .join(images, images.c.id == faces.c.image_id)
        .join(confirming, confirming.c.face_id == faces.c.id)
        .where(faces.c.project_id == project_id, faces.c.label == "yes",
               faces.c.state == "active")
        .group_by(images.c.page_id).subquery("confirmed_files"))


def send_counts(conn: Connection, project_id: int, qid: str) -> dict[str, int]:
    """How many files 'Send' would write now ('new'), how many some project already queued or
    wrote ('already'), and how many wait for a new confirmation after an Undo ('undone'):
    ``plan.preview``'s numbers, aggregated in the database (the page polls them while
    sending), without loading every face."""
    files = confirmed_files(project_id)
    gone = or_(edits.c.state == "cancelled",
               and_(edits.c.action == "remove", edits.c.state == "done"))
    kind = case(
        (edits.c.id.is_(None), "new"),
        (and_(gone, or_(edits.c.undo_decision_id.is_(None),
                        edits.c.undo_decision_id < files.c.confirmed_by)), "new"),
        (edits.c.undo_decision_id.is_not(None), "undone"),
        else_="already").label("kind")
    rows = conn.execute(
        select(kind, func.count())
        .select_from(files)
        .outerjoin(edits, and_(edits.c.page_id == files.c.page_id, edits.c.qid == qid))
        .group_by(kind))
    return {"new": 0, "already": 0, "undone": 0, **{k: int(n) for k, n in rows}}


def pair_states(conn: Connection, project_id: int, qid: str) -> dict[int, PairState]:
    """The edit rows of ``qid`` (from any project) on the project's files, by page id: one
    join on the unique keys, whatever the number of files."""
    rows = conn.execute(
        select(edits.c.page_id, edits.c.state, edits.c.action, edits.c.undo_decision_id)
        .join(images, and_(images.c.page_id == edits.c.page_id,
                           images.c.project_id == project_id))
        .where(edits.c.qid == qid))
    return {page_id: PairState(state, action, undone) for page_id, state, action, undone in rows}


# --- queueing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Wanted:
    """One statement a project wants: P180=qid on the file, with the face's region."""

    page_id: int
    title: str
    qid: str
    face_id: int
    region: str
    confirmed_by: int = 0     # newest human confirmation of a face of the person on the file


def reopenable(edit: Edit | PairState, confirmed_by: int) -> bool:
    """May the pair be queued anew? Only when nothing of it is live (cancelled, or our
    statement removed again), and, if Undo took it back, only after a person confirmed a face
    anew: an undone edit is never offered again by itself. ``_reopen`` says the same in SQL."""
    gone = edit.state == "cancelled" or (edit.action == "remove" and edit.state == "done")
    return gone and (edit.undo_decision_id is None or confirmed_by > edit.undo_decision_id)


def _reopen(confirmed_by: int) -> Any:
    gone = or_(edits.c.state == "cancelled",
               and_(edits.c.action == "remove", edits.c.state == "done"))
    return and_(gone, or_(edits.c.undo_decision_id.is_(None),
                          edits.c.undo_decision_id < confirmed_by))


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
    """A cancelled edit, or one whose statement we removed again, may be queued anew
    (``reopenable``); the project and sender asking now take it over."""
    result = conn.execute(update(edits).where(
        edits.c.page_id == want.page_id, edits.c.qid == want.qid, _reopen(want.confirmed_by),
    ).values(
        project_id=project_id, face_id=want.face_id, user_id=user_id, action="add",
        region=want.region, state="pending", batch_id=batch_id, created_statement=False,
        statement_id=None, written_json=None, error_code=None, error_message=None,
        retryable=None, attempts=0, next_try_at=None, lease_owner=None, lease_until=None,
        undo_decision_id=None, updated_at=now,
    ))
    return result.rowcount == 1


# --- claiming ---------------------------------------------------------------------------------

def _busy_users(now: dt.datetime, free: Any) -> Any:
    """Users with an edit in flight, or paced / backing off after their last one."""
    return select(edits.c.user_id).where(edits.c.user_id.is_not(None), or_(
        and_(edits.c.state == "sending", not_(free)),
        and_(edits.c.state.in_(_MARKER_STATES), edits.c.next_try_at > now),
        and_(edits.c.state == "pending", edits.c.next_try_at > now,
             edits.c.error_code.is_not(None)),
    ))


def _ready(now: dt.datetime, free: Any) -> Any:
    """Pending and due, or 'sending' under a claim that is free again (``claims.free``: the
    lease ran out or its worker is dead)."""
    return and_(edits.c.user_id.is_not(None), or_(
        and_(edits.c.state == "pending",
             or_(edits.c.next_try_at.is_(None), edits.c.next_try_at <= now)),
        and_(edits.c.state == "sending", free),
    ))


def claim_next(conn: Connection, owner: str, lease_seconds: int,
               now: dt.datetime | None = None) -> Edit | None:
    """Claim one ready edit whose sender is idle, and mark it 'sending'.

    Call in its own ``engine.begin()`` and commit before any HTTP request: a crash after the
    commit leaves a 'sending' row whose lease expires, and the next claim re-reads the entity.
    """
    now = now or utcnow()
    sqlite = conn.dialect.name == "sqlite"
    free = claims.free(conn, edits, now)
    candidate = (select(edits.c.id, edits.c.user_id)
                 .where(_ready(now, free), edits.c.user_id.not_in(_busy_users(now, free)))
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
        busy = conn.execute(_busy_users(now, free).where(edits.c.user_id == row.user_id,
                                                   edits.c.id != row.id).limit(1)).first()
        if busy is not None:
            return None
    result = conn.execute(update(edits).where(edits.c.id == row.id, _ready(now, free)).values(
        state="sending", lease_owner=owner,
        lease_until=now + dt.timedelta(seconds=lease_seconds),
        attempts=edits.c.attempts + 1, updated_at=now))
    if result.rowcount != 1:
        return None
    return get(conn, row.id)


def renew(conn: Connection, edit_id: int, owner: str, lease_seconds: int) -> bool:
    """Extend our lease before a write; False means another worker took the edit over.
    The renewal is also our heartbeat, so the POST that follows never looks like a dead
    worker's (``claims.free``)."""
    result = conn.execute(update(edits).where(
        edits.c.id == edit_id, edits.c.lease_owner == owner, edits.c.state == "sending",
    ).values(lease_until=utcnow() + dt.timedelta(seconds=lease_seconds)))
    if result.rowcount != 1:
        return False
    workers.touch(conn, owner)
    return True


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


def postpone(conn: Connection, edit_id: int, owner: str, *, until: dt.datetime, code: str,
             message: str) -> bool:
    """Back to 'pending' until ``until`` (maxlag, throttling, unknown outcome).

    The row's error code stays set, which makes the sender's other edits wait as well.
    """
    now = utcnow()
    return conn.execute(update(edits).where(_ours(edit_id, owner)).values(
        state="pending", error_code=code[:64], error_message=message[:500], retryable=True,
        next_try_at=max(until, now), lease_owner=None, lease_until=None,
        updated_at=now)).rowcount == 1


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


# --- retry, cancel, undo, rejected faces --------------------------------------------------------

def retry_failed(conn: Connection, project_id: int, user_id: int, batch_id: str) -> int:
    """Failed edits the project queued go back to pending, sent by ``user_id``."""
    now = utcnow()
    return conn.execute(update(edits).where(
        edits.c.project_id == project_id, edits.c.state == "failed",
    ).values(state="pending", user_id=user_id, batch_id=batch_id, error_code=None,
             error_message=None, retryable=None, attempts=0, next_try_at=None,
             updated_at=now)).rowcount


def cancel_pending(conn: Connection, project_id: int, batch_id: str | None = None) -> int:
    """Stop sending: the project's queued additions (of one batch) that no worker holds are
    cancelled; a 'Send' later queues them again. Removals are never cancelled: they take back
    what a person rejected or undid."""
    query = update(edits).where(edits.c.project_id == project_id, edits.c.state == "pending",
                                edits.c.action != "remove")
    if batch_id is not None:
        query = query.where(edits.c.batch_id == batch_id)
    return conn.execute(query.values(
        state="cancelled", error_code="cancelled", retryable=False, updated_at=utcnow(),
        error_message="Cancelled before it was sent.")).rowcount


def _latest_decision(conn: Connection) -> int:
    return conn.execute(select(func.coalesce(func.max(decisions.c.id), 0))).scalar_one()


def _in_batch(project_id: int, undo_of: str | None) -> Any:
    where = edits.c.project_id == project_id
    return where if undo_of is None else and_(where, edits.c.batch_id == undo_of)


UNDO_REMOVES = and_(edits.c.state == "done", edits.c.action == "add",
                    edits.c.created_statement.is_(True))
UNDO_CANCELS = and_(edits.c.state.in_(("pending", "failed")), edits.c.action != "remove")


def queue_undo(conn: Connection, project_id: int, user_id: int, batch_id: str,
               undo_of: str | None = None) -> int:
    """Turn the project's written statements (ours only; of batch ``undo_of``, else all) into
    pending removals in batch ``batch_id``; their queued, unsent edits are cancelled.

    The sender removes each one only if it still exists unchanged since we wrote it. Both kinds
    remember the newest decision now, so the pair is not offered again until a person confirms
    a face of it anew (``reopenable``).
    """
    now = utcnow()
    newest = _latest_decision(conn)
    where = _in_batch(project_id, undo_of)
    removals = conn.execute(update(edits).where(where, UNDO_REMOVES).values(
        action="remove", state="pending", user_id=user_id, batch_id=batch_id,
        error_code=None, error_message=None, retryable=None, attempts=0,
        next_try_at=None, undo_decision_id=newest, updated_at=now)).rowcount
    conn.execute(update(edits).where(where, UNDO_CANCELS).values(
        state="cancelled", error_code="undone", retryable=False, updated_at=now,
        undo_decision_id=newest, error_message="Cancelled by Undo before it was sent."))
    return removals


def queue_removals_for_rejected(conn: Connection, limit: int = 100) -> int:
    """A face rejected after its statement was written: remove that statement (ours only).

    Only when the rejection comes from someone who may send edits in the face's project (its
    owner, or any member when the owner allows it): the removal is sent with that person's own
    token, never with the token of whoever wrote the statement, so a labeller's "no" spends
    nobody else's login (the statement stays until a sender rejects the face too). And only
    when no other confirmed face of the same person remains on the file in a project whose
    decisions that person may write (``trusted_projects``: an outsider's answer in her own
    project neither keeps nor changes what is written in someone else's name).
    """
    now = utcnow()
    rejected_face = faces.alias("rejected_face")
    decider = _latest_labeller(rejected_face)
    person = projects.alias("person")
    other_yes = (
        select(faces.c.id)
        .join(images, images.c.id == faces.c.image_id)
        .join(person, person.c.id == faces.c.project_id)
        .where(images.c.page_id == edits.c.page_id, person.c.qid == edits.c.qid,
               faces.c.label == "yes", faces.c.state == "active",
               exists().where(human_yes(faces.c.id)),
               trusted_projects(decider, edits.c.project_id))
    )
    sender_project = projects.alias("sender_project")
    may_send = exists(
        select(project_members.c.user_id)
        .join(sender_project, sender_project.c.id == project_members.c.project_id)
        .where(project_members.c.project_id == rejected_face.c.project_id,
               project_members.c.user_id == decider,
               or_(project_members.c.role == "owner",
                   sender_project.c.members_can_send.is_(True))))
    rejected = (
        select(edits.c.id, decider.label("decider"))
        .join(rejected_face, rejected_face.c.id == edits.c.face_id)
        .where(edits.c.state == "done", edits.c.action == "add",
               edits.c.created_statement.is_(True),
               rejected_face.c.label.in_(("no", "not_face")),
               not_(exists(other_yes)), may_send)
        .limit(limit)
    )
    queued = 0
    for edit_id, sender in conn.execute(rejected).all():
        queued += conn.execute(update(edits).where(
            edits.c.id == edit_id, edits.c.state == "done").values(
            action="remove", state="pending", user_id=sender, error_code=None, retryable=None,
            attempts=0, next_try_at=None, updated_at=now,
            error_message="The face was rejected after the statement was written.")).rowcount
    return queued


def _latest_labeller(face: Any) -> Any:
    """Who gave ``face`` (a faces alias of the outer query) its current label: the newest
    labelling answer not taken back. Correlated explicitly, as it is used in nested
    subqueries too, where automatic correlation would not reach the outer query."""
    undo = decisions.alias("undo")
    return (select(decisions.c.user_id)
            .where(decisions.c.face_id == face.c.id, decisions.c.answer.in_(tuple(LABEL_OF)),
                   ~exists().where(undo.c.undoes_id == decisions.c.id, undo.c.answer == "undo"))
            .order_by(decisions.c.id.desc()).limit(1).correlate(face).scalar_subquery())


# --- reports ----------------------------------------------------------------------------------

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
