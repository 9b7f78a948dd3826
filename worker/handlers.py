"""Which units of work a worker does, in the order it tries them each loop.

Each area registers here: a loop handler (claims and does one bounded unit) or a job kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from worker import edits, pipeline, retention
from worker.jobs import JobRunner
from worker.periodic import Periodic
from worker.seed import SeedJob
from worker.train import make_train_job

if TYPE_CHECKING:
    from worker.main import Worker


def register_handlers(worker: Worker) -> None:
    jobs = JobRunner(worker, max_attempts=worker.cfg.worker.max_attempts)
    worker.add_handler("jobs", jobs)
    worker.add_handler("retention", Periodic(retention.INTERVAL_SECONDS,
                                             lambda: retention.sweep(worker)))
    jobs.register("train", make_train_job(worker))  # retrain and re-score after answers
    jobs.register("seed", SeedJob(worker))  # P18 photos and files with P180 = the item
    edits.register(worker, jobs)  # send_edits / undo_edits jobs + the edit sender loop
    pipeline.register(worker, jobs)  # crawl/encode_box jobs, crawl scheduler, image processing
