"""When each project's category tree is (re)crawled.

A new project's first crawl is queued by the web app when it is created, so an idle worker
starts it within one poll interval. A finished crawl sets ``next_crawl_at`` to one re-crawl
interval later, unless a newer crawl was asked for while it ran. The scheduler queues crawls
for active projects whose ``next_crawl_at`` has come, or that were never crawled and have
nothing scheduled (a lost first job); it moves ``next_crawl_at`` forward in the same
conditional UPDATE that checks it is due, so among many workers exactly one queues the job
(its dedupe key is a second guard).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, and_, or_, select, update

from likeness.db import jobs
from likeness.db.jobs import JobKind
from likeness.db.schema import projects, utcnow


@dataclass(frozen=True)
class CrawlTarget:
    project_id: int
    category: str
    depth: int
    status: str
    qid: str = ""


def _due(now: dt.datetime):  # type: ignore[no-untyped-def]
    return and_(projects.c.status == "active",
                or_(projects.c.next_crawl_at <= now,
                    and_(projects.c.next_crawl_at.is_(None),
                         projects.c.last_crawled_at.is_(None))))


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
            jobs.enqueue_crawl(conn, project_id)
            queued.append(project_id)
    return queued


def request_crawl(conn: Connection, project_id: int) -> None:
    """Crawl again soon: now if no crawl is open, else the scheduler's next pass after it."""
    if jobs.enqueue_crawl(conn, project_id) is None:
        conn.execute(update(projects).where(projects.c.id == project_id)
                     .values(next_crawl_at=utcnow()))


def target(conn: Connection, project_id: int) -> CrawlTarget | None:
    row = conn.execute(select(projects.c.id, projects.c.category, projects.c.depth,
                              projects.c.status, projects.c.qid)
                       .where(projects.c.id == project_id)).first()
    if row is None:
        return None
    return CrawlTarget(row.id, row.category, row.depth, row.status, row.qid)


def mark_crawled(conn: Connection, project_id: int, started_at: dt.datetime,
                 recrawl_after: dt.timedelta, now: dt.datetime | None = None) -> None:
    """A crawl that started at ``started_at`` finished: the next one is due a re-crawl
    interval from now, unless someone asked for one while this one ran."""
    now = now or utcnow()
    conn.execute(update(projects).where(projects.c.id == project_id)
                 .values(last_crawled_at=now))
    conn.execute(update(projects).where(
        projects.c.id == project_id,
        or_(projects.c.next_crawl_at.is_(None), projects.c.next_crawl_at <= started_at))
        .values(next_crawl_at=now + recrawl_after))


def crawl_state(conn: Connection, project_id: int) -> dict[str, object]:
    """For the project page: is a crawl queued or running, when was the last, when is the next."""
    row = conn.execute(select(projects.c.last_crawled_at, projects.c.next_crawl_at)
                       .where(projects.c.id == project_id)).first()
    job = jobs.open_job_state(conn, JobKind.CRAWL, project_id)
    return {"crawling": job is not None,
            "last_crawled_at": row.last_crawled_at if row else None,
            "next_crawl_at": row.next_crawl_at if row else None}
