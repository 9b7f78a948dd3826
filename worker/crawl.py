"""Crawling a project's category tree into image rows, first in full, then incrementally.

Breadth first from the project's category down to its depth, remembering visited categories
(Commons has cycles), so each category gets its smallest depth. Files are listed per category;
a category listed before asks only for members added since its last listing (``cmsort=
timestamp``, ``cmstart``), so a re-crawl never walks every file of the tree again. Subcategory
lists are small and are read in full each time (a project's depth may have grown). A file in
several categories becomes one image row. Audio, video, documents and drawings are not
photographs and are left out by extension here (and by MIME type when processed).

Quotas (``quotas`` in the config) bound what one project takes from the shared workers: the
walk goes no deeper than ``max_depth`` whatever the project asks, and stops adding files at
``files_per_project``; the category it stopped in stays unlisted, so a re-crawl after the
limit was raised carries on from there.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from likeness.config import QuotaConfig
from likeness.db import categories, claims, crawl_schedule, jobs
from likeness.db import images as image_rows
from likeness.db.crawl_schedule import CrawlTarget
from likeness.db.jobs import Job
from likeness.db.schema import jobs as job_table
from likeness.db.schema import utcnow
from likeness.wiki.errors import Permanent, WikiError, classify
from likeness.wiki.errors import RetryLater as WikiRetryLater
from likeness.wiki.titles import category_title
from worker.jobs import RetryLater
from worker.ticker import Ticker
from worker.wiki import CategoryLister, commons_api

if TYPE_CHECKING:
    from worker.main import Worker

log = logging.getLogger("likeness.worker.crawl")

# Raster formats Commons renders as photographs. Not: svg (drawings), pdf/djvu (documents),
# ogg/oga/opus/mp3/wav/flac/mid (audio), ogv/webm/mpg/mpeg (video), stl (3D), xcf (layers).
PHOTO_EXTENSIONS = frozenset({"jpg", "jpeg", "jpe", "png", "gif", "webp", "tif", "tiff"})
NOT_PHOTO_MIMES = frozenset({"image/svg+xml", "image/vnd.djvu", "image/x-xcf"})
# Re-list from a little before the last listing: clocks and database replicas lag.
RELIST_MARGIN = dt.timedelta(hours=1)
SCHEDULE_EVERY = 5.0  # seconds between looks for due projects


def is_photo_title(title: str) -> bool:
    return title.rsplit(".", 1)[-1].lower() in PHOTO_EXTENSIONS if "." in title else False


def is_photo_mime(mime: str) -> bool:
    mime = (mime or "").lower()
    return mime.startswith("image/") and mime not in NOT_PHOTO_MIMES


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


def crawl_project(engine: Engine, lister: CategoryLister, target: CrawlTarget,
                  keep_going: Callable[[], bool],
                  quotas: QuotaConfig = QuotaConfig()) -> CrawlStats:
    """Walk the tree, adding new files as pending images. Stops early when ``keep_going()``
    says so; categories listed completely so far keep their progress."""
    stats = CrawlStats()
    max_depth = min(target.depth, quotas.max_depth)
    with engine.connect() as conn:
        room = quotas.files_per_project - image_rows.count(conn, target.project_id)
    root = bare_category(target.category)
    queue: deque[tuple[str, int]] = deque([(root, 0)])
    visited = {root}
    while queue:
        if room <= 0:
            stats.at_file_limit = True
            break
        if not keep_going():
            stats.interrupted = True
            break
        title, depth = queue.popleft()
        with engine.begin() as conn:
            state = categories.ensure(conn, target.project_id, title, depth)
        started = utcnow()
        since = state.last_crawled_at - RELIST_MARGIN if state.last_crawled_at else None
        listed = _list_files(engine, lister, target.project_id, title, since, stats,
                             keep_going, room)
        room -= listed.new_files
        if listed.stopped:
            stats.interrupted = True
            break
        if room <= 0:  # this category is not listed completely: leave it unmarked
            stats.at_file_limit = True
            break
        if depth < max_depth:
            for page in lister.subcategories(title):
                for sub in page:
                    if sub not in visited:
                        visited.add(sub)
                        queue.append((sub, depth + 1))
        with engine.begin() as conn:
            categories.mark_listed(conn, state.id, started)
        stats.categories += 1
    return stats


@dataclass
class Listed:
    new_files: int = 0
    stopped: bool = False  # told to stop midway


def _list_files(engine: Engine, lister: CategoryLister, project_id: int, title: str,
                since: dt.datetime | None, stats: CrawlStats,
                keep_going: Callable[[], bool], room: int) -> Listed:
    """List one category's (new) files into image rows, adding at most ``room``."""
    listed = Listed()
    for page in lister.files(title, since):
        photos = [f for f in page if is_photo_title(f.title)]
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


class CrawlJob:
    """The ``crawl`` job: one project's tree, with its lease renewed while it runs."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.lister = CategoryLister(commons_api(worker.cfg))

    def __call__(self, job: Job) -> dict[str, Any]:
        engine, worker = self.worker.engine, self.worker
        with engine.begin() as conn:
            target = crawl_schedule.target(conn, job.project_id) if job.project_id else None
        if target is None:
            return {"skipped": "project deleted"}
        if target.status != "active":
            return {"skipped": f"project {target.status}"}
        lease = worker.cfg.worker.lease_seconds
        ticker = Ticker(worker, f"crawl project {target.project_id}",
                        renew=lambda conn: _renew_job(conn, job.id, worker.id, lease))
        try:
            stats = crawl_project(engine, self.lister, target,
                                  keep_going=lambda: ticker() and not ticker.stopping,
                                  quotas=worker.cfg.quotas)
        except WikiError as exc:
            outcome = classify(exc, oauth=False)
            if isinstance(outcome, Permanent):
                raise RuntimeError(f"crawl failed: {exc}") from exc
            wait = outcome.seconds if isinstance(outcome, WikiRetryLater) else 60.0
            raise RetryLater(f"crawl interrupted: {exc}", wait) from exc
        with engine.begin() as conn:
            if stats.interrupted:
                # Shutdown or lost lease: ask for another crawl soon; listed categories keep
                # their progress, so it resumes rather than restarts.
                crawl_schedule.request_crawl(conn, target.project_id)
            else:
                crawl_schedule.mark_crawled(conn, target.project_id)
                # Files found by this crawl may carry P180 already: look for seeds again.
                jobs.enqueue(conn, "seed", project_id=target.project_id,
                             dedupe_key=f"seed:{target.project_id}")
        log.info("crawl done", extra={"project": target.project_id, "worker": worker.id,
                                      **asdict(stats)})
        return asdict(stats)


def _renew_job(conn: Any, job_id: int, owner: str, lease: int) -> int:
    return claims.renew(conn, job_table, [job_id], owner, lease)


def schedule_crawls(worker: Worker) -> bool:
    """Queue crawl jobs for due projects (new ones at once, others on schedule)."""
    every = dt.timedelta(hours=worker.cfg.worker.recrawl_hours)
    with worker.engine.begin() as conn:
        queued = crawl_schedule.schedule_due(conn, every)
    for project_id in queued:
        log.info("crawl queued", extra={"project": project_id, "worker": worker.id})
    return bool(queued)
