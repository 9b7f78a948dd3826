"""Retention of face encodings (biometric data).

Encodings leave with their project (foreign keys cascade) and, after ``retention.
inactive_project_days`` without activity, are erased from a project that is still kept:
encodings and serialised models are set to NULL and the project is archived. Human decisions
and labels stay, so nothing a person said is lost; the archived project stays readable.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, and_, func, select, update

from likeness.db.schema import faces, model_runs, projects, utcnow


def inactive_projects(conn: Connection, days: int, now: dt.datetime | None = None) -> list[int]:
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    last = func.coalesce(projects.c.last_activity_at, projects.c.created_at)
    has_encodings = select(faces.c.id).where(
        faces.c.project_id == projects.c.id, faces.c.encoding.is_not(None)).exists()
    return list(conn.execute(
        select(projects.c.id).where(and_(last < cutoff, has_encodings))).scalars())


def erase_encodings(conn: Connection, project_id: int) -> int:
    """Erase a project's biometric data; returns how many encodings were erased."""
    erased = conn.execute(update(faces).where(
        faces.c.project_id == project_id, faces.c.encoding.is_not(None),
    ).values(encoding=None, score=None, priority=None)).rowcount
    conn.execute(update(model_runs).where(model_runs.c.project_id == project_id)
                 .values(params=None))
    conn.execute(update(projects).where(projects.c.id == project_id).values(status="archived"))
    return erased
