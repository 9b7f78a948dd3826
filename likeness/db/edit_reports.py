"""What the edits page and its API show: a project's edits, counted, grouped and paged.

A project sees every edit its faces back, whichever project queued it: an edit row is one per
(file, Q-id) across projects (``likeness.db.edits``), so a second project on the same person
would otherwise see nothing of what was written for its confirmed faces. "Backed by project P"
means: P queued it, or P has a face of the person on that file that a person confirmed.

Lists are paged with a cursor (the last edit id seen), newest first, except the queue, which
is shown in sending order.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from likeness.db.edits import STATES, UNDO_CANCELS, UNDO_REMOVES, confirmed_files
from likeness.db.schema import edits, images, users

# The groups the page shows, each a condition on the edits table.
GROUPS: dict[str, Any] = {
    "open": edits.c.state.in_(("pending", "sending")),
    "written": and_(edits.c.state == "done", edits.c.action != "remove"),
    "removed": and_(edits.c.state == "done", edits.c.action == "remove"),
    "skipped": edits.c.state == "skipped",
    "failed": edits.c.state == "failed",
    "cancelled": edits.c.state == "cancelled",
}
MAX_PAGE = 200


def backed_by(project_id: int, qid: str) -> Any:
    """Edits of the project's person that the project queued or that its confirmed faces back.
    The project's confirmed files are one uncorrelated subquery (built once per query)."""
    files = confirmed_files(project_id)
    return and_(edits.c.qid == qid,
                or_(edits.c.project_id == project_id,
                    edits.c.page_id.in_(select(files.c.page_id))))


def counts(conn: Connection, project_id: int, qid: str) -> dict[str, int]:
    """Edits backed by the project per state, every state present, plus 'removed' (done
    removals) and 'elsewhere' (backed edits another project queued)."""
    result = dict.fromkeys(STATES, 0)
    removed = and_(edits.c.action == "remove", edits.c.state == "done")
    rows = conn.execute(
        select(edits.c.state, func.count(),
               func.sum(case((removed, 1), else_=0)),
               func.sum(case((edits.c.project_id != project_id, 1), else_=0)))
        .where(backed_by(project_id, qid)).group_by(edits.c.state))
    result["removed"] = result["elsewhere"] = 0
    for state, n, n_removed, n_elsewhere in rows:
        result[state] = int(n)
        result["removed"] += int(n_removed or 0)
        result["elsewhere"] += int(n_elsewhere or 0)
    return result


@dataclass(frozen=True)
class EditReport:
    """One edit as the page shows it: what, where, by whom, when, and how it ended."""

    id: int
    page_id: int
    title: str
    qid: str
    action: str
    region: str | None
    state: str
    batch_id: str | None
    project_id: int | None
    sender: str | None
    statement_id: str | None
    revision_id: int | None
    error_code: str | None
    error_message: str | None
    retryable: bool | None
    attempts: int
    updated_at: dt.datetime | None
    thumb_url: str | None
    thumb_width: int | None
    thumb_height: int | None


def _report_query(project_id: int) -> Any:
    """Edits with the sender's name and the project's own thumbnail of the file."""
    here = images.alias("here")
    return (
        select(edits.c.id, edits.c.page_id, edits.c.title, edits.c.qid, edits.c.action,
               edits.c.region, edits.c.state, edits.c.batch_id, edits.c.project_id,
               users.c.username.label("sender"), edits.c.statement_id, edits.c.revision_id,
               edits.c.error_code, edits.c.error_message, edits.c.retryable,
               edits.c.attempts, edits.c.updated_at, here.c.thumb_url, here.c.thumb_width,
               here.c.thumb_height)
        .select_from(edits)
        .outerjoin(users, users.c.id == edits.c.user_id)
        .outerjoin(here, and_(here.c.project_id == project_id,
                              here.c.page_id == edits.c.page_id))
    )


def _report(row: Any) -> EditReport:
    return EditReport(
        row.id, row.page_id, row.title, row.qid, row.action, row.region, row.state,
        row.batch_id, row.project_id, row.sender, row.statement_id, row.revision_id,
        row.error_code, row.error_message, row.retryable, row.attempts, row.updated_at,
        row.thumb_url, row.thumb_width, row.thumb_height)


def page(conn: Connection, project_id: int, qid: str, group: str, *,
         after: int | None = None, limit: int = 50,
         batch_id: str | None = None) -> tuple[list[EditReport], int | None]:
    """One page of a group's edits and the cursor of the next page (None at the end).

    The queue ('open') runs in sending order (oldest first); finished groups newest first.
    """
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}")
    limit = max(1, min(limit, MAX_PAGE))
    query = _report_query(project_id).where(backed_by(project_id, qid), GROUPS[group])
    if batch_id is not None:
        query = query.where(edits.c.batch_id == batch_id)
    ascending = group == "open"
    if after is not None:
        query = query.where(edits.c.id > after if ascending else edits.c.id < after)
    order = edits.c.id.asc() if ascending else edits.c.id.desc()
    rows = [_report(r) for r in conn.execute(query.order_by(order).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


def sending_now(conn: Connection, project_id: int, qid: str) -> EditReport | None:
    """The project's edit a worker is sending at this moment, if any."""
    row = conn.execute(_report_query(project_id).where(
        backed_by(project_id, qid), edits.c.state == "sending").limit(1)).first()
    return _report(row) if row else None


def queued_ahead(conn: Connection, user_id: int, project_id: int) -> int:
    """The user's queued edits of other projects that go out before this project's first
    (one user's edits are sent one at a time, oldest first)."""
    first = conn.execute(select(func.min(edits.c.id)).where(
        edits.c.project_id == project_id, edits.c.user_id == user_id,
        edits.c.state.in_(("pending", "sending")))).scalar()
    if first is None:
        return 0
    return conn.execute(select(func.count()).where(
        edits.c.user_id == user_id, edits.c.id < first, edits.c.project_id != project_id,
        edits.c.state.in_(("pending", "sending")))).scalar_one()


# --- batches ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Batch:
    """One press of 'Send' (or one retry, or one Undo) in a project: its edits per group."""

    batch_id: str
    sender: str | None
    last_change: dt.datetime | None
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def cursor(self) -> str:
        """Where the next page starts: (last change, batch id), newest first."""
        stamp = (self.last_change or EPOCH).strftime("%Y%m%d%H%M%S%f")
        return f"{stamp}.{self.batch_id}"


EPOCH = dt.datetime(1970, 1, 1)
BATCH_CURSOR = re.compile(r"^(\d{20})\.([0-9a-f]{12})$")


def parse_batch_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """``Batch.cursor`` back into its parts; ValueError when it is not one."""
    match = BATCH_CURSOR.match(cursor)
    if not match:
        raise ValueError("not a batch cursor")
    return dt.datetime.strptime(match.group(1), "%Y%m%d%H%M%S%f"), match.group(2)


def batches(conn: Connection, project_id: int, *, before: str | None = None,
            limit: int = 20) -> tuple[list[Batch], str | None]:
    """The project's batches, latest change first, and the cursor of the next page."""
    limit = max(1, min(limit, MAX_PAGE))
    last = func.coalesce(func.max(edits.c.updated_at), EPOCH)
    heads = (select(edits.c.batch_id, last.label("last"))
             .where(edits.c.project_id == project_id, edits.c.batch_id.is_not(None))
             .group_by(edits.c.batch_id))
    if before is not None:
        stamp, batch_id = parse_batch_cursor(before)
        heads = heads.having(or_(last < stamp, and_(last == stamp, edits.c.batch_id < batch_id)))
    head_rows = conn.execute(heads.order_by(last.desc(), edits.c.batch_id.desc())
                             .limit(limit + 1)).all()
    more = len(head_rows) > limit
    head_rows = head_rows[:limit]
    if not head_rows:
        return [], None
    ids = [r.batch_id for r in head_rows]
    counts: dict[str, dict[str, int]] = {b: {} for b in ids}
    senders: dict[str, str | None] = {}
    rows = conn.execute(
        select(edits.c.batch_id, _group_label(), func.count(), func.max(users.c.username))
        .select_from(edits).outerjoin(users, users.c.id == edits.c.user_id)
        .where(edits.c.project_id == project_id, edits.c.batch_id.in_(ids))
        .group_by(edits.c.batch_id, _group_label()))
    for batch_id, group, n, sender in rows:
        counts[batch_id][group] = int(n)
        senders[batch_id] = senders.get(batch_id) or sender
    result = [Batch(r.batch_id, senders.get(r.batch_id), _naive(r.last), counts[r.batch_id])
              for r in head_rows]
    return result, (result[-1].cursor if more else None)


def _naive(value: Any) -> dt.datetime | None:
    """SQLite returns the coalesced aggregate as text."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _group_label() -> Any:
    return case(*[(condition, name) for name, condition in GROUPS.items()],
                else_="other").label("grp")


# --- undo ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UndoPlan:
    """Exactly what undoing a batch would do, shown before the owner confirms."""

    batch_id: str
    remove: int                  # statements we created, to be removed if still unchanged
    cancel: int                  # queued or failed edits, never sent, to be cancelled
    in_flight: int               # being sent right now: they finish, undo them afterwards
    kept: int                    # qualifiers added to others' statements, skips: left alone
    files: list[EditReport]      # the statements to remove (first ``limit``)

    @property
    def empty(self) -> bool:
        return not (self.remove or self.cancel)


def undo_plan(conn: Connection, project_id: int, batch_id: str, limit: int = 500) -> UndoPlan:
    mine = and_(edits.c.project_id == project_id, edits.c.batch_id == batch_id)

    def count(condition: Any) -> int:
        return conn.execute(select(func.count()).where(mine, condition)).scalar_one()

    kept = and_(edits.c.state.in_(("done", "skipped")), edits.c.action != "remove",
                ~UNDO_REMOVES)
    files = [_report(r) for r in conn.execute(
        _report_query(project_id).where(mine, UNDO_REMOVES).order_by(edits.c.id).limit(limit))]
    return UndoPlan(batch_id, count(UNDO_REMOVES), count(UNDO_CANCELS),
                    count(edits.c.state == "sending"), count(kept), files)


def batch_ids(conn: Connection, project_id: int, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are batches of this project."""
    return set(conn.execute(select(edits.c.batch_id).distinct().where(
        edits.c.project_id == project_id, edits.c.batch_id.in_(list(ids)))).scalars())
