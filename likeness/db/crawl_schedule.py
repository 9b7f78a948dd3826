"""When each project's category tree is (re)crawled.

A project is due when it is active and either its ``next_crawl_at`` has come, or it was never
crawled and nothing is scheduled (a new project: crawled at once). Scheduling moves
``next_crawl_at`` forward in the same conditional UPDATE that checks it is due, so among many
workers exactly one queues the crawl job (its dedupe key is a second guard).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, and_, or_, select, update

from likeness.db import jobs
from likeness.db.schema import jobs as job_rows
from likeness.db.schema import projects, utcnow

CRAWL = "crawl"


@dataclass(frozen=True)
class CrawlTarget:
    project_id: int
    category: str
    depth: int
    status: str


def _due(now: dt.datetime):  # type: ignore[no-untyped-def]
    return and_(projects.c.status == "active",
                or_(projects.c.next_crawl_at <= now,
                    and_(projects.c.next_crawl_at.is_(None),
                         projects.c.last_crawled_at.is_(None))))


def crawl_key(project_id: int) -> str:
    return f"{CRAWL}:{project_id}"


def schedule_due(conn: Connection, recrawl_after: dt.timedelta, limit: int = 10,
                 now: dt.datetime | None = None) -> list[int]:
    """Queue a crawl job for every due project (up to ``limit``); returns their ids."""
    now = now or utcnow()
    queued = []
    for project_id in conn.execute(select(projects.c.id).where(_due(now))
                                   .order_by(projects.c.id).limit(limit)).scalars():
        moved = conn.execute(update(projects).where(projects.c.id == project_id, _due(now))
                             .values(next_crawl_at=now + recrawl_after)).rowcount
        if moved == 1:
            jobs.enqueue(conn, CRAWL, project_id=project_id, dedupe_key=crawl_key(project_id))
            queued.append(project_id)
    return queued


def request_crawl(conn: Connection, project_id: int) -> None:
    """Web app ("look for new files now"): the next scheduler pass queues a crawl."""
    conn.execute(update(projects).where(projects.c.id == project_id)
                 .values(next_crawl_at=utcnow()))


def target(conn: Connection, project_id: int) -> CrawlTarget | None:
    row = conn.execute(select(projects.c.id, projects.c.category, projects.c.depth,
                              projects.c.status).where(projects.c.id == project_id)).first()
    if row is None:
        return None
    return CrawlTarget(row.id, row.category, row.depth, row.status)


def mark_crawled(conn: Connection, project_id: int, finished_at: dt.datetime | None = None
                 ) -> None:
    conn.execute(update(projects).where(projects.c.id == project_id)
                 .values(last_crawled_at=finished_at or utcnow()))


def crawl_state(conn: Connection, project_id: int) -> dict[str, object]:
    """For the project page: is a crawl queued or running, when was the last, when is the next."""
    row = conn.execute(select(projects.c.last_crawled_at, projects.c.next_crawl_at)
                       .where(projects.c.id == project_id)).first()
    job = conn.execute(select(job_rows.c.state).where(
        job_rows.c.dedupe_key == crawl_key(project_id))).scalar_one_or_none()
    return {"crawling": job in ("queued", "running"),
            "last_crawled_at": row.last_crawled_at if row else None,
            "next_crawl_at": row.next_crawl_at if row else None}
