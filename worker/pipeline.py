"""Hooks the crawl/fetch/detect pipeline into a worker (called from worker/handlers.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from worker.crawl import SCHEDULE_EVERY, CrawlJob, schedule_crawls
from worker.encode_box import EncodeBoxJob
from worker.facepool import SharedPool
from worker.periodic import Periodic
from worker.process import ImageProcessor

if TYPE_CHECKING:
    from worker.jobs import JobRunner
    from worker.main import Worker


def register(worker: Worker, jobs: JobRunner, pool: SharedPool | None = None) -> ImageProcessor:
    """crawl and encode_box jobs; the crawl scheduler and image processing loop handlers."""
    processor = ImageProcessor(worker, pool or SharedPool(worker.cfg))
    processor.pool.pool  # noqa: B018 - start the children now: dlib loads while we crawl
    jobs.register("crawl", CrawlJob(worker))
    jobs.register("encode_box", EncodeBoxJob(worker, processor))
    worker.add_handler("crawl_schedule",
                       Periodic(SCHEDULE_EVERY, lambda: schedule_crawls(worker)))
    worker.add_handler("images", processor)
    return processor
