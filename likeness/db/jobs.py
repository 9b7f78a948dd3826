"""The job queue: on-demand and scheduled work that the web app asks of the workers.

Job kinds and their dedupe keys are defined here once: code queues work through the
``enqueue_*`` helpers, never by spelling a kind or a key (a typo would make a second job, or
none). The worker maps every ``JobKind`` to a handler (tests/test_worker_loop.py checks that
each kind has one).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from likeness.db import claims
from likeness.db.schema import inserted_id, jobs, utcnow

# How soon a retrain that answers asked for starts at the latest (worker.train reruns after
# answers that came during training this long after, to batch them).
RETRAIN_SOON = dt.timedelta(seconds=3)


class JobKind(StrEnum):
    CRAWL = "crawl"            # list a project's category tree into images
    SEED = "seed"              # P18 photos and files already depicting the item
    TRAIN = "train"            # retrain a project's model and re-score its faces
    ENCODE_BOX = "encode_box"  # encode a box a person drew


def dedupe_key(kind: JobKind, subject_id: int) -> str:
    """The one open job of this kind per project (per face for encode_box)."""
    return f"{kind}:{subject_id}"


def enqueue_crawl(conn: Connection, project_id: int, user_id: int | None = None) -> int | None:
    return enqueue(conn, JobKind.CRAWL, project_id=project_id, user_id=user_id,
                   dedupe_key=dedupe_key(JobKind.CRAWL, project_id))


def enqueue_seed(conn: Connection, project_id: int) -> int | None:
    return enqueue(conn, JobKind.SEED, project_id=project_id,
                   dedupe_key=dedupe_key(JobKind.SEED, project_id))


def enqueue_train(conn: Connection, project_id: int, *, force: bool = False,
                  delay: dt.timedelta | None = None) -> int | None:
    """Retrain soon (after ``delay``, if given). While a train job is still queued it will see
    everything that changed until it starts, so the common case is one indexed read instead of
    a failing insert. A retrain wanted now (answers: the labeller waits for the next grid)
    brings forward a queued one that was put off for long (the images unit waits
    ``TRAIN_DELAY`` for more faces); a short put-off (a rerun batching answers that came
    during training) stays, so a big project does not retrain after every answer."""
    key = dedupe_key(JobKind.TRAIN, project_id)
    if not force:
        queued = conn.execute(select(jobs.c.id, jobs.c.run_after).where(
            jobs.c.dedupe_key == key, jobs.c.state == "queued")).first()
        if queued is not None:
            now = utcnow()
            if delay is None and queued.run_after is not None \
                    and queued.run_after > now + RETRAIN_SOON:
                conn.execute(update(jobs).where(jobs.c.id == queued.id,
                                                jobs.c.state == "queued").values(run_after=now))
            return None
    return enqueue(conn, JobKind.TRAIN, project_id=project_id, dedupe_key=key,
                   payload={"force": True} if force else None,
                   run_after=utcnow() + delay if delay else None)


def enqueue_encode_box(conn: Connection, project_id: int, face_id: int,
                       user_id: int | None) -> int | None:
    return enqueue(conn, JobKind.ENCODE_BOX, project_id=project_id, face_id=face_id,
                   user_id=user_id, dedupe_key=dedupe_key(JobKind.ENCODE_BOX, face_id))


def ready(conn: Connection, kinds: tuple[JobKind, ...]) -> bool:
    """Whether a queued job of these kinds may run now."""
    now = utcnow()
    return conn.execute(select(jobs.c.id).where(
        jobs.c.kind.in_(kinds), jobs.c.state == "queued",
        or_(jobs.c.run_after.is_(None), jobs.c.run_after <= now)).limit(1)).first() is not None


def open_job_state(conn: Connection, kind: JobKind, project_id: int) -> str | None:
    """'queued' or 'running' while the project's one job of this kind is open, else None."""
    return conn.execute(select(jobs.c.state).where(
        jobs.c.dedupe_key == dedupe_key(kind, project_id))).scalar_one_or_none()


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


def enqueue(conn: Connection, kind: JobKind, *, project_id: int | None = None,
            face_id: int | None = None, user_id: int | None = None,
            payload: dict[str, Any] | None = None, dedupe_key: str | None = None,
            run_after: dt.datetime | None = None) -> int | None:
    """Queue a job; with ``dedupe_key``, at most one open job per key (returns None if one is).

    Runs in a savepoint so a duplicate does not spoil the caller's transaction. Prefer the
    ``enqueue_*`` helpers, which know each kind's dedupe key.
    """
    try:
        with conn.begin_nested():
            return inserted_id(conn.execute(insert(jobs).values(
                kind=kind, project_id=project_id, face_id=face_id, user_id=user_id,
                payload=json.dumps(payload or {}), dedupe_key=dedupe_key, run_after=run_after,
            )))
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
