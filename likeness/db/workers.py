"""Worker heartbeat rows: one per worker process."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, func, insert, select, update

from likeness.db.schema import utcnow, workers


def register(conn: Connection, worker_id: str, hostname: str, pid: int, version: str) -> None:
    now = utcnow()
    conn.execute(insert(workers).values(id=worker_id, hostname=hostname, pid=pid,
                                        version=version, started_at=now, heartbeat_at=now,
                                        state="starting"))


def beat(conn: Connection, worker_id: str, state: str, current: str | None = None) -> None:
    conn.execute(update(workers).where(workers.c.id == worker_id).values(
        heartbeat_at=utcnow(), state=state, current=(current or "")[:255] or None))


def count_done(conn: Connection, worker_id: str, images: int) -> None:
    conn.execute(update(workers).where(workers.c.id == worker_id).values(
        images_done=workers.c.images_done + images))


def latest_heartbeat(conn: Connection) -> dt.datetime | None:
    """Freshest heartbeat of any worker (the 'no worker running' banner)."""
    return conn.execute(select(func.max(workers.c.heartbeat_at))).scalar_one_or_none()


def prune(conn: Connection, older_than: dt.timedelta) -> int:
    """Forget workers silent for long; their claims were already released by lease expiry."""
    cutoff = utcnow() - older_than
    return conn.execute(delete(workers).where(workers.c.heartbeat_at < cutoff)).rowcount
