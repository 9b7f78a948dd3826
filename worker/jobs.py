"""Runs queued jobs: claims one, dispatches it by kind, records the outcome.

A job is a function ``run(ctx, job) -> result`` (a JSON-able dict or None). If it raises, the
failure is classified by ``likeness.retry.failure_of`` and the one retry policy decides: try
again at a date (throttling waits what the server asked, other failures back off), or give up,
after which the kind's ``give_up(ctx, job, failure)`` runs if it has one. A result with
``rerun_after`` (seconds) queues the same job again once this one is finished: its input changed
while it ran (e.g. new answers during training).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from likeness.db import jobs as job_rows
from likeness.db.jobs import Job, JobKind
from likeness.db.schema import utcnow
from likeness.retry import Failure, failure_of
from worker.context import WorkerContext

log = logging.getLogger("likeness.worker.jobs")

# Jobs are run back to back for up to this long per loop pass: somebody may wait for each
# (a new project's crawl, a drawn box), while images and edits still get their turn.
PASS_SECONDS = 10.0


@dataclass(frozen=True)
class JobSpec:
    run: Callable[[WorkerContext, Job], dict[str, Any] | None]
    give_up: Callable[[WorkerContext, Job, Failure], None] | None = None


class JobRunner:
    """Loop handler: runs ready jobs of the kinds it knows."""

    def __init__(self, ctx: WorkerContext, specs: Mapping[JobKind, JobSpec]) -> None:
        self.ctx = ctx
        self.specs = dict(specs)

    def __call__(self) -> bool:
        """Run ready jobs for up to PASS_SECONDS; True if there was one."""
        deadline = time.monotonic() + PASS_SECONDS
        ran = False
        while not self.ctx.shutdown.requested and time.monotonic() < deadline:
            if not self.run_one():
                break
            ran = True
        return ran

    def run_one(self) -> bool:
        """Claim and run one job; True if there was one."""
        ctx = self.ctx
        with ctx.engine.begin() as conn:
            job = job_rows.claim_next(conn, ctx.id, ctx.lease_seconds, tuple(self.specs))
        if job is None:
            return False
        spec = self.specs[JobKind(job.kind)]
        context = {"worker": ctx.id, "job": job.id, "kind": job.kind, "project": job.project_id}
        ctx.beat("busy", f"{job.kind} job {job.id}")
        try:
            result = spec.run(ctx, job)
        except Exception as exc:
            self._failed(job, spec, failure_of(exc), context)
        else:
            rerun_after = (result or {}).pop("rerun_after", None)
            with ctx.engine.begin() as conn:
                job_rows.finish(conn, job.id, ctx.id, result)
                if rerun_after is not None:
                    job_rows.enqueue(conn, JobKind(job.kind), project_id=job.project_id,
                                     face_id=job.face_id, user_id=job.user_id,
                                     payload=job.payload, dedupe_key=job.dedupe_key,
                                     run_after=utcnow() + dt.timedelta(seconds=rerun_after))
            log.info("job done", extra=context)
        return True

    def _failed(self, job: Job, spec: JobSpec, failure: Failure,
                context: dict[str, Any]) -> None:
        ctx = self.ctx
        retry_at = ctx.retry_policy.next_try(job.attempts, failure, utcnow())
        if retry_at is None and spec.give_up is not None:
            spec.give_up(ctx, job, failure)
        with ctx.engine.begin() as conn:
            job_rows.fail(conn, job.id, ctx.id, str(failure), retry_at)
        if failure.kind == "internal":
            log.exception("job failed", extra=context)
        else:
            log.warning("job failed", extra={**context, "error": str(failure),
                                             "final": retry_at is None})
