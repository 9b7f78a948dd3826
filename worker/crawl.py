"""Crawling a project's category tree into image rows, first in full, then incrementally.

Breadth first from the project's category (and the item's Commons category, P373, when the
project opted into that source) down to its depth, remembering visited categories
(Commons has cycles), so each category gets its smallest depth. Files are listed per category;
a category listed before asks only for members added since its last listing (``cmsort=
timestamp``, ``cmstart``), so a re-crawl never walks every file of the tree again. Subcategory
lists are small and are read in full each time (a project's depth may have grown). A file in
several categories becomes one image row. Audio, video, documents and drawings are not
photographs and are left out by extension here (and by MIME type when processed). The other
sources a project opted into, and the re-upload check of its files, run after the tree
(worker.sources).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine

from likeness.config import QuotaConfig
from likeness.db import categories, claims, crawl_schedule, jobs, sources
from likeness.db import images as image_rows
from likeness.db.crawl_schedule import CrawlTarget
from likeness.db.images import FoundFile
from likeness.db.jobs import Job
from likeness.db.schema import jobs as job_table
from likeness.db.schema import utcnow
from likeness.wiki.api import ActionApi
from likeness.wiki.commons import category_members, subcategories
from likeness.wiki.titles import category_title
from likeness.wiki.wikidata import source_facts
from worker import sources as other_sources
from worker.context import WorkerContext
from worker.photos import is_photo_title
from worker.ticker import Ticker

log = logging.getLogger("likeness.worker.crawl")

# Re-list from a little before the last listing: clocks and database replicas lag.
RELIST_MARGIN = dt.timedelta(hours=1)
SCHEDULE_EVERY = 5.0  # seconds between looks for due projects (re-crawls, lost first jobs)


def bare_category(name: str) -> str:
    """``category:Foo_bar`` or ``Foo bar`` -> ``Foo bar`` (as project_categories stores it)."""
    return category_title(name).split(":", 1)[1]


@dataclass
class CrawlStats:
    categories: int = 0
    listed: int = 0  # files listed (a file in two categories counts twice here)
    new_files: int = 0  # image rows created
    not_photos: int = 0  # left out by extension
    interrupted: bool = False
    at_file_limit: bool = False  # stopped at quotas.files_per_project
    # Of those, under the item's Commons category (when it is a second root).
    p373_listed: int = 0
    p373_new: int = 0


def crawl_project(engine: Engine, api: ActionApi, target: CrawlTarget,
                  keep_going: Callable[[], bool], quotas: QuotaConfig = QuotaConfig(),
                  page_size: int | str = "max",
                  commons_category: str | None = None) -> CrawlStats:
    """Walk the tree (from ``commons_category`` too, when given), adding new files as pending
    images, within the owner's quotas (files per project, depth). Stops early when
    ``keep_going()`` says so; categories listed completely so far keep their progress."""
    stats = CrawlStats()
    max_depth = min(target.depth, quotas.max_depth)
    room = quotas.files_per_project - _file_count(engine, target.project_id)
    root = bare_category(target.category)
    queue: deque[tuple[str, int, bool]] = deque([(root, 0, False)])
    visited = {root}
    if commons_category and bare_category(commons_category) not in visited:
        visited.add(bare_category(commons_category))
        queue.append((bare_category(commons_category), 0, True))
    while queue:
        if room <= 0:
            stats.at_file_limit = True
            break
        if not keep_going():
            stats.interrupted = True
            break
        title, depth, from_p373 = queue.popleft()
        listed_before = stats.listed
        with engine.begin() as conn:
            state = categories.ensure(conn, target.project_id, title, depth)
        started = utcnow()
        since = state.last_crawled_at - RELIST_MARGIN if state.last_crawled_at else None
        listed = _list_files(engine, api, target.project_id, title, since, stats, keep_going,
                             room, page_size)
        room -= listed.new_files
        if listed.stopped:
            stats.interrupted = True
            break
        if from_p373:
            stats.p373_listed += stats.listed - listed_before
            stats.p373_new += listed.new_files
        if room <= 0:  # this category is not listed completely: leave it unmarked
            stats.at_file_limit = True
            break
        if depth < max_depth:
            # Read in full each time: subcategory lists are small, and the depth may have grown.
            for sub in subcategories(api, title):
                if sub not in visited:
                    visited.add(sub)
                    queue.append((sub, depth + 1, from_p373))
        with engine.begin() as conn:
            categories.mark_listed(conn, state.id, started)
        stats.categories += 1
    return stats


def _file_count(engine: Engine, project_id: int) -> int:
    with engine.connect() as conn:
        return image_rows.count(conn, project_id)


@dataclass
class Listed:
    new_files: int = 0
    stopped: bool = False  # told to stop midway


def _list_files(engine: Engine, api: ActionApi, project_id: int, title: str,
                since: dt.datetime | None, stats: CrawlStats, keep_going: Callable[[], bool],
                room: int, page_size: int | str) -> Listed:
    """List one category's (new) files into image rows, adding at most ``room``."""
    listed = Listed()
    for page in category_members(api, title, types=("file",), since=since, limit=page_size):
        photos = [FoundFile(f.pageid, f.title) for f in page if is_photo_title(f.title)]
        stats.listed += len(page)
        stats.not_photos += len(page) - len(photos)
        photos = photos[:room - listed.new_files]
        if photos:
            with engine.begin() as conn:
                new = image_rows.add_found(conn, project_id, photos)
            listed.new_files += new
            stats.new_files += new
        if listed.new_files >= room:
            return listed
        if not keep_going():
            listed.stopped = True
            return listed
    return listed


def run(ctx: WorkerContext, job: Job) -> dict[str, Any]:
    """The ``crawl`` job: one project's tree, with its lease renewed while it runs. A wiki
    failure propagates to the job runner's retry policy; categories listed completely so far
    keep their progress, so the retry resumes rather than restarts."""
    engine = ctx.engine
    with engine.begin() as conn:
        target = crawl_schedule.target(conn, job.project_id) if job.project_id else None
    if target is None:
        return {"skipped": "project deleted"}
    if target.status != "active":
        return {"skipped": f"project {target.status}"}
    started = utcnow()
    ticker = Ticker(ctx, f"crawl project {target.project_id}",
                    renew=lambda conn: _renew_job(conn, job.id, ctx.id, ctx.lease_seconds))
    with engine.connect() as conn:
        kinds = {source.kind for source in sources.of_project(conn, target.project_id)}
    facts = source_facts(ctx.wiki.wikidata, target.qid) if kinds else None
    p373 = facts.commons_category if facts and "commons_category" in kinds else None

    def keep_going() -> bool:
        return ticker() and not ticker.stopping

    stats = crawl_project(engine, ctx.wiki.commons, target, keep_going=keep_going,
                          quotas=ctx.cfg.quotas, commons_category=p373)
    result: dict[str, Any] = asdict(stats)
    if not stats.interrupted:
        if "commons_category" in kinds:
            with engine.begin() as conn:
                sources.record_run(conn, target.project_id, "commons_category", started,
                                   stats.p373_listed, stats.p373_new, False)
        if facts is not None:
            result["sources"] = other_sources.list_sources(ctx, target.project_id, facts,
                                                           kinds, keep_going)
        result["reuploaded"] = other_sources.check_reuploads(ctx, target.project_id,
                                                             keep_going)
    with engine.begin() as conn:
        if stats.interrupted or not keep_going():
            # Shutdown or lost lease: ask for another crawl soon.
            crawl_schedule.request_crawl(conn, target.project_id)
        else:
            every = dt.timedelta(hours=ctx.cfg.worker.recrawl_hours)
            crawl_schedule.mark_crawled(conn, target.project_id, started, every)
            # Files found by this crawl may carry P180 already: look for seeds again.
            jobs.enqueue_seed(conn, target.project_id)
    log.info("crawl done", extra={"project": target.project_id, "worker": ctx.id, **result})
    return result


def _renew_job(conn: Any, job_id: int, owner: str, lease: int) -> int:
    return claims.renew(conn, job_table, [job_id], owner, lease)


def schedule_crawls(ctx: WorkerContext) -> bool:
    """Queue crawl jobs for projects due for a re-crawl."""
    every = dt.timedelta(hours=ctx.cfg.worker.recrawl_hours)
    with ctx.engine.begin() as conn:
        queued = crawl_schedule.schedule_due(conn, every)
    for project_id in queued:
        log.info("crawl queued", extra={"project": project_id, "worker": ctx.id})
    return bool(queued)
