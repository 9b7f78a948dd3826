"""The admin status page: workers, queue depths, errors by kind, edit rate."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, func, select

from likeness.db.schema import edits, images, jobs, utcnow, workers


def worker_rows(conn: Connection, stale_after: dt.timedelta) -> list[dict[str, Any]]:
    now = utcnow()
    rows = conn.execute(select(workers).order_by(workers.c.heartbeat_at.desc())).all()
    return [{"id": r.id, "hostname": r.hostname, "pid": r.pid, "version": r.version,
             "state": r.state, "current": r.current, "images_done": r.images_done,
             "started_at": r.started_at, "heartbeat_at": r.heartbeat_at,
             "seconds_since_heartbeat": int((now - r.heartbeat_at).total_seconds()),
             "alive": r.state != "stopped" and now - r.heartbeat_at < stale_after}
            for r in rows]


def _counts(conn: Connection, *columns: Any, where: Any = None) -> list[dict[str, Any]]:
    query = select(*columns, func.count().label("n")).group_by(*columns).order_by(*columns)
    if where is not None:
        query = query.where(where)
    return [dict(row._mapping) for row in conn.execute(query)]


def queue_depths(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    return {
        "images": _counts(conn, images.c.status),
        "jobs": _counts(conn, jobs.c.kind, jobs.c.state,
                        where=jobs.c.state.in_(("queued", "running"))),
        "edits": _counts(conn, edits.c.state),
    }


def errors_by_kind(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    return {
        "images": _counts(conn, images.c.error_kind, where=images.c.error_kind.is_not(None)),
        "edits": _counts(conn, edits.c.error_code, where=edits.c.error_code.is_not(None)),
        "jobs": _counts(conn, jobs.c.kind, where=jobs.c.state == "failed"),
    }


def edit_rate(conn: Connection) -> dict[str, int]:
    """Edits finished on Commons in the last hour and day."""
    now = utcnow()

    def since(delta: dt.timedelta) -> int:
        return conn.execute(select(func.count()).select_from(edits).where(
            edits.c.state == "done", edits.c.updated_at >= now - delta)).scalar_one()

    return {"last_hour": since(dt.timedelta(hours=1)), "last_day": since(dt.timedelta(days=1))}


def snapshot(conn: Connection, stale_after: dt.timedelta) -> dict[str, Any]:
    return {"workers": worker_rows(conn, stale_after), "queues": queue_depths(conn),
            "errors": errors_by_kind(conn), "edit_rate": edit_rate(conn)}
