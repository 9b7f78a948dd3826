"""Worker heartbeat rows: one per worker process.

A worker is dead when it said so ('stopped') or when its heartbeat is older than the
``stale_seconds`` it registered with (``worker.heartbeat_stale_seconds``). ``likeness.db.claims``
frees a dead worker's claims at once, without waiting for their leases to run out; renewing a
lease counts as a heartbeat, so a worker busy in one long step never looks dead while it holds
a claim it still renews.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, func, insert, select, update

from likeness.db.schema import utcnow, workers

DEFAULT_STALE_SECONDS = 30


def register(conn: Connection, worker_id: str, hostname: str, pid: int, version: str,
             stale_seconds: int = DEFAULT_STALE_SECONDS) -> None:
    now = utcnow()
    conn.execute(insert(workers).values(id=worker_id, hostname=hostname, pid=pid,
                                        version=version, started_at=now, heartbeat_at=now,
                                        state="starting", stale_seconds=stale_seconds))


def beat(conn: Connection, worker_id: str, state: str, current: str | None = None) -> None:
    conn.execute(update(workers).where(workers.c.id == worker_id).values(
        heartbeat_at=utcnow(), state=state, current=(current or "")[:255] or None))


def touch(conn: Connection, worker_id: str) -> None:
    """A sign of life without a state change (a lease renewal)."""
    conn.execute(update(workers).where(workers.c.id == worker_id, workers.c.state != "stopped")
                 .values(heartbeat_at=utcnow()))


def dead(conn: Connection, now: dt.datetime | None = None) -> list[str]:
    """Ids of registered workers that stopped or whose heartbeat is stale.

    A claim held by an id that never registered (a test, a tool) is left to its lease. The
    table holds one row per live or recently dead process, so this reads a few rows.
    """
    now = now or utcnow()
    rows = conn.execute(select(workers.c.id, workers.c.state, workers.c.heartbeat_at,
                               workers.c.stale_seconds))
    return [r.id for r in rows if r.state == "stopped"
            or r.heartbeat_at + dt.timedelta(seconds=r.stale_seconds) < now]


def count_done(conn: Connection, worker_id: str, images: int) -> None:
    conn.execute(update(workers).where(workers.c.id == worker_id).values(
        images_done=workers.c.images_done + images))


def latest_heartbeat(conn: Connection) -> dt.datetime | None:
    """Freshest heartbeat of any worker (the 'no worker running' banner)."""
    return conn.execute(select(func.max(workers.c.heartbeat_at))).scalar_one_or_none()


def prune(conn: Connection, older_than: dt.timedelta) -> int:
    """Forget workers silent for long; their claims were freed when they went stale."""
    cutoff = utcnow() - older_than
    return conn.execute(delete(workers).where(workers.c.heartbeat_at < cutoff)).rowcount
