"""The job queue: on-demand and scheduled work that the web app asks of the workers."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from likeness.db import claims
from likeness.db.schema import jobs, utcnow


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    project_id: int | None
    face_id: int | None
    user_id: int | None
    payload: dict[str, Any]
    attempts: int
    dedupe_key: str | None = None


def enqueue(conn: Connection, kind: str, *, project_id: int | None = None,
            face_id: int | None = None, user_id: int | None = None,
            payload: dict[str, Any] | None = None, dedupe_key: str | None = None,
            run_after: dt.datetime | None = None) -> int | None:
    """Queue a job; with ``dedupe_key``, at most one open job per key (returns None if one is).

    Runs in a savepoint so a duplicate does not spoil the caller's transaction.
    """
    try:
        with conn.begin_nested():
            return conn.execute(insert(jobs).values(
                kind=kind, project_id=project_id, face_id=face_id, user_id=user_id,
                payload=json.dumps(payload or {}), dedupe_key=dedupe_key, run_after=run_after,
            )).inserted_primary_key[0]
    except IntegrityError:
        if dedupe_key is None:
            raise
        return None


def claim_next(conn: Connection, owner: str, lease_seconds: int,
               kinds: tuple[str, ...] | None = None) -> Job | None:
    """Claim the oldest ready job (of the given kinds) and mark it running."""
    now = utcnow()
    ready = and_(jobs.c.state.in_(("queued", "running")),
                 or_(jobs.c.run_after.is_(None), jobs.c.run_after <= now))
    if kinds:
        ready = and_(ready, jobs.c.kind.in_(kinds))
    ids = claims.claim(conn, jobs, ready, [jobs.c.id], owner, lease_seconds, limit=1, now=now)
    if not ids:
        return None
    conn.execute(update(jobs).where(jobs.c.id == ids[0]).values(
        state="running", attempts=jobs.c.attempts + 1))
    row = conn.execute(select(jobs).where(jobs.c.id == ids[0])).one()
    return Job(row.id, row.kind, row.project_id, row.face_id, row.user_id,
               json.loads(row.payload or "{}"), row.attempts, row.dedupe_key)


def finish(conn: Connection, job_id: int, owner: str, result: dict[str, Any] | None = None) -> None:
    conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.lease_owner == owner).values(
        state="done", result=json.dumps(result or {}), finished_at=utcnow(), dedupe_key=None,
        lease_owner=None, lease_until=None))


def fail(conn: Connection, job_id: int, owner: str, error: str,
         retry_at: dt.datetime | None = None) -> None:
    """Record a failure: requeue for ``retry_at`` or end it as failed."""
    values: dict[str, Any] = {"error": error[:500], "lease_owner": None, "lease_until": None}
    if retry_at is None:
        values.update(state="failed", finished_at=utcnow(), dedupe_key=None)
    else:
        values.update(state="queued", run_after=retry_at)
    conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.lease_owner == owner)
                 .values(**values))


def get(conn: Connection, job_id: int) -> Any:
    return conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
