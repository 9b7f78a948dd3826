"""Retention of face encodings (biometric data).

Encodings live in ``detections``, shared by the projects whose faces use them. Deleting a
project deletes its faces (foreign keys cascade); the encodings of its files are then erased,
or the files deleted, unless another project still uses them (``files.forget_unneeded``).
After ``retention.inactive_project_days`` without activity a project that is still kept loses
its biometric data: its faces no longer use any detection (score and priority go too), the
encodings of its drawn boxes and its serialised models are erased, the files nobody else uses
lose theirs, and the project is archived. Human decisions, labels and boxes stay, so nothing a
person said is lost; unarchiving links the faces again (``faces_store.revive``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, and_, exists, func, or_, select, update

from likeness.db import files as file_rows
from likeness.db.schema import detections, faces, model_runs, projects, utcnow


def inactive_projects(conn: Connection, days: int, now: dt.datetime | None = None) -> list[int]:
    """Projects without activity for ``days`` whose faces still use encodings or whose models
    are still stored."""
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    last = func.coalesce(projects.c.last_activity_at, projects.c.created_at)
    uses_encodings = exists().where(faces.c.project_id == projects.c.id,
                                    faces.c.detection_id.is_not(None),
                                    faces.c.state != "superseded")
    has_model = exists().where(model_runs.c.project_id == projects.c.id,
                               model_runs.c.params.is_not(None))
    return list(conn.execute(select(projects.c.id).where(
        and_(last < cutoff, or_(uses_encodings, has_model)))).scalars())


def erase_encodings(conn: Connection, project_id: int) -> int:
    """Erase a project's biometric data and archive it; returns how many of its faces lost
    their encoding."""
    erased = conn.execute(update(faces).where(
        faces.c.project_id == project_id, faces.c.detection_id.is_not(None),
    ).values(detection_id=None, score=None, priority=None)).rowcount
    conn.execute(update(detections).where(detections.c.project_id == project_id,
                                          detections.c.encoding.is_not(None))
                 .values(encoding=None))
    conn.execute(update(model_runs).where(model_runs.c.project_id == project_id)
                 .values(params=None))
    conn.execute(update(projects).where(projects.c.id == project_id).values(status="archived"))
    file_rows.forget_unneeded(conn, file_rows.page_ids_of(conn, project_id))
    return erased
