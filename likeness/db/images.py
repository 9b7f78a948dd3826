"""Images of a project: found by the crawl, claimed by workers, processed once, retried with care.

Life of an image row: ``pending`` (found, or waiting for a retry at ``next_try_at``) -> claimed
by one worker (lease_owner/lease_until; the status stays ``pending``, so an expired lease makes
it claimable again) -> ``done`` (faces linked to its file's detections: likeness.db.files and
faces_store), ``skipped`` (not a photo) or, after its last allowed attempt, ``failed`` with
``error_kind``/``last_error`` kept for the web app, which may send it back to ``pending`` with
:func:`retry_failed`. A re-uploaded file sends its ``done`` images back to ``pending``.

Every write that ends a unit of work is guarded by ``lease_owner = me`` on the image row: the
row lock taken by that UPDATE serialises two workers that both believe they hold an image (one
with an expired lease), and the loser writes nothing. That, plus linking the image's faces in
the same transaction (``faces_store.link``, idempotent), is what makes processing idempotent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, insert, not_, or_, select, update

from likeness.db import claims
from likeness.db.schema import faces, images, projects, utcnow

# A unit of work is claimed only for projects in this state (paused/archived are left alone).
ACTIVE = "active"


@dataclass(frozen=True)
class FoundFile:
    """A file listed by the crawl (or added by another origin)."""

    page_id: int
    title: str


@dataclass(frozen=True)
class ClaimedImage:
    id: int
    project_id: int
    page_id: int
    title: str
    attempts: int  # attempts before this one


@dataclass(frozen=True)
class ProcessingCounts:
    """Progress of a project's processing, for the web app."""

    found: int = 0
    pending: int = 0
    in_progress: int = 0  # pending and leased by a worker right now
    retrying: int = 0  # pending after at least one failed attempt
    done: int = 0
    failed: int = 0
    skipped: int = 0
    faces: int = 0
    failed_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def processed(self) -> int:
        return self.done + self.failed + self.skipped


# --- found files --------------------------------------------------------------------------


def add_found(conn: Connection, project_id: int, files: Iterable[FoundFile],
              origin: str = "category") -> int:
    """Insert files not yet known to the project; returns how many were new.

    A file met twice (in two subcategories, or by two crawls) stays one row: the unique key
    (project_id, page_id) makes the insert a no-op for it.
    """
    rows = [{"project_id": project_id, "page_id": f.page_id, "title": f.title[:255],
             "origin": origin, "status": "pending", "attempts": 0, "created_at": utcnow()}
            for f in {f.page_id: f for f in files}.values()]
    if not rows:
        return 0
    statement = (insert(images)
                 .prefix_with("OR IGNORE", dialect="sqlite")
                 .prefix_with("IGNORE", dialect="mysql")
                 .prefix_with("IGNORE", dialect="mariadb"))
    result = conn.execute(statement, rows)
    return max(result.rowcount, 0)


def count(conn: Connection, project_id: int) -> int:
    """Files the project holds, whatever their state (the files_per_project quota)."""
    return conn.execute(select(func.count()).select_from(images)
                        .where(images.c.project_id == project_id)).scalar_one()


# --- claims -------------------------------------------------------------------------------


def claim_pending(conn: Connection, owner: str, lease_seconds: int, limit: int,
                  now: dt.datetime | None = None,
                  after_project: int | None = None) -> list[ClaimedImage]:
    """Claim up to ``limit`` pending images that are due, all of one active project.

    Projects take turns: the batch comes from the first project with due images whose id is
    above ``after_project`` (the project of this worker's previous batch), wrapping around, so a
    big project never starves a small one. Call inside ``engine.begin()`` and commit at once.
    """
    now = now or utcnow()
    # Inactive projects are few; listing them keeps the locking SELECT on one table.
    inactive = [row.id for row in conn.execute(
        select(projects.c.id).where(projects.c.status != ACTIVE))]
    ready = and_(images.c.status == "pending",
                 or_(images.c.next_try_at.is_(None), images.c.next_try_at <= now))
    if inactive:
        ready = and_(ready, not_(images.c.project_id.in_(inactive)))
    project_id = _next_project(conn, and_(ready, claims.free(conn, images, now)), after_project)
    if project_id is None:
        return []
    ids = claims.claim(conn, images, and_(ready, images.c.project_id == project_id),
                       [images.c.id], owner, lease_seconds, limit=limit, now=now)
    if not ids:  # another worker just took that project's last free ones: any project will do
        ids = claims.claim(conn, images, ready, [images.c.id], owner, lease_seconds,
                           limit=limit, now=now)
    if not ids:
        return []
    rows = conn.execute(
        select(images.c.id, images.c.project_id, images.c.page_id, images.c.title,
               images.c.attempts).where(images.c.id.in_(ids)).order_by(images.c.id))
    return [ClaimedImage(r.id, r.project_id, r.page_id, r.title, r.attempts) for r in rows]


def _next_project(conn: Connection, ready: Any, after: int | None) -> int | None:
    """The next project (by id, wrapping around) with due, unclaimed images."""
    if after is not None:
        found = conn.execute(select(func.min(images.c.project_id)).where(
            ready, images.c.project_id > after)).scalar_one_or_none()
        if found is not None:
            return int(found)
    found = conn.execute(select(func.min(images.c.project_id)).where(ready)
                         ).scalar_one_or_none()
    return None if found is None else int(found)


def renew(conn: Connection, image_ids: Sequence[int], owner: str, lease_seconds: int) -> int:
    """Extend our leases while we work; returns how many are still ours."""
    return claims.renew(conn, images, image_ids, owner, lease_seconds)


def release(conn: Connection, image_ids: Sequence[int], owner: str) -> None:
    """Give unstarted images back at once (shutdown), without counting an attempt."""
    claims.release(conn, images, image_ids, owner)


def _ours(image_id: int, owner: str) -> Any:
    return and_(images.c.id == image_id, images.c.lease_owner == owner)


# --- outcomes -----------------------------------------------------------------------------


def record_skipped(conn: Connection, image_id: int, owner: str, mime: str, reason: str) -> bool:
    """Not a photo (audio, video, document...): nothing to detect, never retried."""
    result = conn.execute(update(images).where(_ours(image_id, owner)).values(
        status="skipped", mime=mime[:100] or None, error_kind="not_a_photo",
        last_error=reason[:500], processed_at=utcnow(), next_try_at=None,
        lease_owner=None, lease_until=None))
    return result.rowcount == 1


def record_failure(conn: Connection, image_id: int, owner: str, kind: str, message: str,
                   retry_at: dt.datetime | None) -> bool:
    """Count a failed attempt: back to pending until ``retry_at``, or ``failed`` when None.

    The error stays on the row either way, so the web app can show why.
    """
    values: dict[str, Any] = {
        "attempts": images.c.attempts + 1, "error_kind": kind[:32], "last_error": message[:500],
        "lease_owner": None, "lease_until": None}
    if retry_at is None:
        values.update(status="failed", next_try_at=None, processed_at=utcnow())
    else:
        values.update(status="pending", next_try_at=retry_at)
    return conn.execute(update(images).where(_ours(image_id, owner)).values(**values)
                        ).rowcount == 1


def defer(conn: Connection, image_ids: Sequence[int], owner: str, until: dt.datetime,
          reason: str) -> int:
    """Put claimed images back until ``until`` without counting an attempt.

    For throttling (Retry-After, maxlag): the server asked us to wait, the image did nothing
    wrong.
    """
    if not image_ids:
        return 0
    return conn.execute(update(images).where(
        images.c.id.in_(list(image_ids)), images.c.lease_owner == owner).values(
        next_try_at=until, last_error=reason[:500], lease_owner=None, lease_until=None)
    ).rowcount


def retry_failed(conn: Connection, project_id: int,
                 image_ids: Sequence[int] | None = None) -> int:
    """Web app: send failed images (all of the project's, or these) back to the queue now.

    Attempts start again from zero; the last error stays visible until the image succeeds.
    """
    where = and_(images.c.project_id == project_id, images.c.status == "failed")
    if image_ids is not None:
        if not image_ids:
            return 0
        where = and_(where, images.c.id.in_(list(image_ids)))
    return conn.execute(update(images).where(where).values(
        status="pending", attempts=0, next_try_at=None, lease_owner=None, lease_until=None)
    ).rowcount


# --- reading ------------------------------------------------------------------------------


def processing_counts(conn: Connection, project_id: int,
                      now: dt.datetime | None = None) -> ProcessingCounts:
    """Files found, processed (done/failed/skipped), faces found, errors by kind."""
    now = now or utcnow()
    by_status: dict[str, int] = {}
    for row in conn.execute(select(images.c.status, func.count()).where(
            images.c.project_id == project_id).group_by(images.c.status)):
        by_status[row[0]] = row[1]
    pending_where = and_(images.c.project_id == project_id, images.c.status == "pending")
    in_progress = conn.execute(select(func.count()).where(
        pending_where, images.c.lease_until.is_not(None), images.c.lease_until >= now)
    ).scalar_one()
    retrying = conn.execute(select(func.count()).where(
        pending_where, images.c.attempts > 0)).scalar_one()
    failed_by_kind = {
        row[0] or "unknown": row[1] for row in conn.execute(
            select(images.c.error_kind, func.count()).where(
                images.c.project_id == project_id, images.c.status == "failed")
            .group_by(images.c.error_kind))}
    n_faces = conn.execute(select(func.count()).select_from(faces).where(
        faces.c.project_id == project_id, faces.c.state == "active")).scalar_one()
    return ProcessingCounts(
        found=sum(by_status.values()), pending=by_status.get("pending", 0),
        in_progress=in_progress, retrying=retrying, done=by_status.get("done", 0),
        failed=by_status.get("failed", 0), skipped=by_status.get("skipped", 0), faces=n_faces,
        failed_by_kind=failed_by_kind)


def failed_images(conn: Connection, project_id: int, limit: int = 100,
                  offset: int = 0) -> list[Any]:
    """Failed images with their last error, newest failure first (web app error list)."""
    return list(conn.execute(
        select(images.c.id, images.c.page_id, images.c.title, images.c.error_kind,
               images.c.last_error, images.c.attempts, images.c.processed_at)
        .where(images.c.project_id == project_id, images.c.status == "failed")
        .order_by(images.c.processed_at.desc(), images.c.id.desc())
        .limit(limit).offset(offset)))


def get(conn: Connection, image_id: int) -> Any:
    return conn.execute(select(images).where(images.c.id == image_id)).first()


def reference_thumb_url(conn: Connection, project_id: int) -> str | None:
    """The thumbnail the worker fetched of the project's reference (P18) photo, if any."""
    return conn.execute(select(images.c.thumb_url).where(
        images.c.project_id == project_id, images.c.origin == "reference",
        images.c.thumb_url.is_not(None)).limit(1)).scalar()
