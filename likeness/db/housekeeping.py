"""Pruning rows that served their purpose: finished jobs and superseded model runs.

(Worker heartbeat rows are pruned by ``likeness.db.workers.prune``; encodings of inactive
projects are erased by ``likeness.db.retention``.)
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, and_, delete, func, select, update

from likeness.db.schema import jobs, model_runs, utcnow


def prune_jobs(conn: Connection, done_after: dt.timedelta, failed_after: dt.timedelta,
               now: dt.datetime | None = None) -> int:
    """Delete jobs that finished long enough ago (failed ones are kept longer: the admin page
    counts them); returns how many."""
    now = now or utcnow()
    return conn.execute(delete(jobs).where(
        ((jobs.c.state == "done") & (jobs.c.finished_at < now - done_after))
        | ((jobs.c.state == "failed") & (jobs.c.finished_at < now - failed_after)))).rowcount


def prune_model_runs(conn: Connection, keep_for: dt.timedelta,
                     now: dt.datetime | None = None) -> tuple[int, int]:
    """A project's latest run stays whole. Every older run loses its serialised model at once
    (it holds face encodings, biometric data nobody needs once superseded), and is deleted
    after ``keep_for``. Returns (models erased, runs deleted)."""
    now = now or utcnow()
    # A derived table: MariaDB refuses a subquery on the table being updated, not one on a
    # materialised result.
    latest = (select(func.max(model_runs.c.id).label("id"))
              .group_by(model_runs.c.project_id).subquery("latest"))
    superseded = model_runs.c.id.not_in(select(latest.c.id))
    erased = conn.execute(update(model_runs).where(
        and_(superseded, model_runs.c.params.is_not(None))).values(params=None)).rowcount
    deleted = conn.execute(delete(model_runs).where(
        and_(superseded, model_runs.c.created_at < now - keep_for))).rowcount
    return erased, deleted
