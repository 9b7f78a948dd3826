"""Projects: create (with the owner's membership and a first crawl), read, settings, delete."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from likeness.db import crawl_schedule, faces_store, jobs, sources
from likeness.db import files as file_rows
from likeness.db.schema import faces, images, inserted_id, project_members, projects, users, utcnow

STATUSES = ("active", "paused", "archived")
# Settings an owner may change after creation (everything else is fixed or the worker's).
SETTINGS = ("threshold", "depth", "status", "share_knowledge", "seed_outside_tree",
            "add_region_to_existing", "members_can_send", "sources")


@dataclass(frozen=True)
class Project:
    id: int
    owner_id: int
    qid: str
    label: str
    description: str
    reference_file: str | None
    category: str
    depth: int
    threshold: float | None
    status: str
    share_knowledge: bool
    seed_outside_tree: bool
    add_region_to_existing: bool
    members_can_send: bool
    next_crawl_at: dt.datetime | None
    last_crawled_at: dt.datetime | None
    last_activity_at: dt.datetime | None
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: Any) -> Project:
        mapping = row._mapping
        return cls(**{f.name: mapping[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class ProjectSummary:
    """A dashboard line: the project, the viewer's role and rough progress."""

    project: Project
    role: str
    images_total: int
    images_done: int
    faces_total: int
    faces_labelled: int


class QuotaExceeded(Exception):
    """The user already owns ``limit`` projects."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"already owns {limit} projects")
        self.limit = limit


def count_owned(conn: Connection, user_id: int) -> int:
    return conn.execute(select(func.count()).select_from(projects)
                        .where(projects.c.owner_id == user_id)).scalar_one()


def check_quota(conn: Connection, user_id: int, max_owned: int) -> None:
    """QuotaExceeded when the user already owns ``max_owned`` projects."""
    if count_owned(conn, user_id) >= max_owned:
        raise QuotaExceeded(max_owned)


def create(conn: Connection, *, owner_id: int, qid: str, label: str, category: str,
           description: str = "", reference_file: str | None = None, depth: int = 1,
           threshold: float | None = None, max_owned: int | None = None,
           source_kinds: tuple[str, ...] = ()) -> int:
    """Insert the project (with the sources it opts into), make its creator the owner and
    queue the first crawl at once.

    ``max_owned``: refuse (QuotaExceeded) when the owner already has that many projects. The
    owner's row is locked first, so two creations at once cannot both slip under the limit.
    """
    if max_owned is not None:
        conn.execute(select(users.c.id).where(users.c.id == owner_id).with_for_update())
        check_quota(conn, owner_id, max_owned)
    now = utcnow()
    project_id = inserted_id(conn.execute(insert(projects).values(
        owner_id=owner_id, qid=qid, label=label, description=description,
        reference_file=reference_file, category=category, depth=depth, threshold=threshold,
        status="active", last_activity_at=now,
    )))
    conn.execute(insert(project_members).values(
        project_id=project_id, user_id=owner_id, role="owner"))
    sources.set_sources(conn, project_id, source_kinds)
    jobs.enqueue_crawl(conn, project_id, owner_id)
    return project_id


def get(conn: Connection, project_id: int) -> Project | None:
    row = conn.execute(select(projects).where(projects.c.id == project_id)).first()
    return Project.from_row(row) if row else None


def update_settings(conn: Connection, project_id: int, **values: Any) -> None:
    """Change owner settings (``sources``: the full set of sources opted into); resuming,
    deepening or adding a source schedules a crawl now; leaving the archive links the faces
    whose encodings retention erased again."""
    unknown = set(values) - set(SETTINGS)
    if unknown:
        raise ValueError(f"not a project setting: {', '.join(sorted(unknown))}")
    if "status" in values and values["status"] not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    if not values:
        return
    now = utcnow()
    before = conn.execute(select(projects.c.share_knowledge, projects.c.seed_outside_tree,
                                 projects.c.status)
                          .where(projects.c.id == project_id)).first()
    added = sources.set_sources(conn, project_id, values.pop("sources")) \
        if "sources" in values else set()
    values = {**values, "last_activity_at": now}
    conn.execute(update(projects).where(projects.c.id == project_id).values(**values))
    if values.get("status") == "active" or "depth" in values or added:
        crawl_schedule.request_crawl(conn, project_id)
    if before is None:
        return
    if before.status == "archived" and values.get("status", "archived") != "archived":
        faces_store.revive(conn, project_id)
    if "share_knowledge" in values and bool(values["share_knowledge"]) != before.share_knowledge:
        # Shared positives join or leave the model: retrain even without new answers.
        jobs.enqueue_train(conn, project_id, force=True)
    if values.get("seed_outside_tree") and not before.seed_outside_tree:
        jobs.enqueue_seed(conn, project_id)


def delete_project(conn: Connection, project_id: int) -> bool:
    """Delete the project; foreign keys cascade to every derived row; the encodings of its
    files go too unless another project uses them."""
    page_ids = file_rows.page_ids_of(conn, project_id)
    deleted = conn.execute(delete(projects).where(projects.c.id == project_id)).rowcount == 1
    file_rows.forget_unneeded(conn, page_ids)
    return deleted


def list_for_user(conn: Connection, user_id: int, limit: int = 200) -> list[ProjectSummary]:
    """The user's projects (owned and joined), newest first, with progress counts."""
    rows = conn.execute(
        select(projects, project_members.c.role)
        .join(project_members, project_members.c.project_id == projects.c.id)
        .where(project_members.c.user_id == user_id)
        .order_by(projects.c.id.desc()).limit(limit)
    ).all()
    ids = [row.id for row in rows]
    image_counts = _counts(conn, images.c.project_id, images.c.status == "done", ids)
    face_counts = _counts(conn, faces.c.project_id, faces.c.label.is_not(None), ids)
    result = []
    for row in rows:
        total_images, done_images = image_counts.get(row.id, (0, 0))
        total_faces, labelled = face_counts.get(row.id, (0, 0))
        result.append(ProjectSummary(Project.from_row(row), row.role, total_images,
                                     done_images, total_faces, labelled))
    return result


def _counts(conn: Connection, column: Any, done: Any, ids: list[int]) -> dict[int, tuple]:
    if not ids:
        return {}
    from sqlalchemy import case

    query = (select(column, func.count(), func.sum(case((done, 1), else_=0)))
             .where(column.in_(ids)).group_by(column))
    return {row[0]: (int(row[1]), int(row[2] or 0)) for row in conn.execute(query)}


def touch(conn: Connection, project_id: int) -> None:
    """Record activity (answers, settings) for the retention policy."""
    conn.execute(update(projects).where(projects.c.id == project_id).values(
        last_activity_at=utcnow()))
