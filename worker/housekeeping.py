"""The hourly housekeeping sweep: biometric retention and pruning of rows that served their
purpose (the schedule is documented in docs/architecture.md).

- encodings of projects inactive for ``retention.inactive_project_days`` are erased and the
  project archived (decisions stay);
- a model run's serialised model (it holds encodings) is erased as soon as a newer run of its
  project exists, and the run itself is deleted after MODEL_RUN_DAYS;
- finished jobs are deleted after DONE_JOB_DAYS, failed ones after FAILED_JOB_DAYS;
- heartbeat rows of workers silent for WORKER_ROW_HOURS are deleted (their claims were taken
  over long before).
"""

from __future__ import annotations

import datetime as dt
import logging

from likeness.db import housekeeping, retention
from likeness.db import workers as worker_rows
from worker.context import WorkerContext

log = logging.getLogger("likeness.worker.housekeeping")

INTERVAL_SECONDS = 3600
DONE_JOB_DAYS = 1
FAILED_JOB_DAYS = 14
MODEL_RUN_DAYS = 30
WORKER_ROW_HOURS = 24


def sweep(ctx: WorkerContext) -> bool:
    days = ctx.cfg.retention.inactive_project_days
    with ctx.engine.begin() as conn:
        for project_id in retention.inactive_projects(conn, days):
            erased = retention.erase_encodings(conn, project_id)
            log.info("encodings erased", extra={"project": project_id, "faces": erased,
                                                "worker": ctx.id})
        models, runs = housekeeping.prune_model_runs(conn, dt.timedelta(days=MODEL_RUN_DAYS))
        jobs = housekeeping.prune_jobs(conn, dt.timedelta(days=DONE_JOB_DAYS),
                                       dt.timedelta(days=FAILED_JOB_DAYS))
        workers = worker_rows.prune(conn, dt.timedelta(hours=WORKER_ROW_HOURS))
    log.info("housekeeping", extra={"models_erased": models, "model_runs": runs, "jobs": jobs,
                                    "workers": workers, "worker": ctx.id})
    return False  # housekeeping never counts as "busy"
