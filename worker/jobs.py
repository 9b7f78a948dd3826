"""Runs queued jobs: claims one, dispatches it by kind, records the outcome."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from likeness.db import jobs as job_rows
from likeness.db.jobs import Job
from likeness.db.schema import utcnow

log = logging.getLogger("likeness.worker.jobs")

# A job function does the work and returns a JSON-able result; raising RetryLater requeues it.
# A result with "rerun_after" (seconds) queues the same job again once this one is finished:
# the input changed while it ran (e.g. new answers during training).
JobFunction = Callable[[Job], dict[str, Any] | None]


class RetryLater(Exception):  # noqa: N818 - it is an outcome, not an error
    def __init__(self, reason: str, seconds: float) -> None:
        super().__init__(reason)
        self.seconds = seconds


class JobRunner:
    def __init__(self, worker: Any, max_attempts: int = 5) -> None:
        self.worker = worker
        self.functions: dict[str, JobFunction] = {}
        self.max_attempts = max_attempts

    def register(self, kind: str, function: JobFunction) -> None:
        self.functions[kind] = function

    def __call__(self) -> bool:
        """Claim and run one job; True if there was one."""
        engine, owner = self.worker.engine, self.worker.id
        with engine.begin() as conn:
            job = job_rows.claim_next(conn, owner, self.worker.cfg.worker.lease_seconds,
                                      tuple(self.functions))
        if job is None:
            return False
        context = {"worker": owner, "job": job.id, "kind": job.kind, "project": job.project_id}
        try:
            result = self.functions[job.kind](job)
        except RetryLater as exc:
            retry_at = utcnow() + dt.timedelta(seconds=exc.seconds)
            final = job.attempts >= self.max_attempts
            with engine.begin() as conn:
                job_rows.fail(conn, job.id, owner, str(exc), None if final else retry_at)
            log.warning("job retry later", extra={**context, "reason": str(exc)})
        except Exception as exc:
            with engine.begin() as conn:
                job_rows.fail(conn, job.id, owner, f"{type(exc).__name__}: {exc}")
            log.exception("job failed", extra=context)
        else:
            rerun_after = (result or {}).pop("rerun_after", None)
            with engine.begin() as conn:
                job_rows.finish(conn, job.id, owner, result)
                if rerun_after is not None:
                    job_rows.enqueue(conn, job.kind, project_id=job.project_id,
                                     face_id=job.face_id, user_id=job.user_id,
                                     payload=job.payload, dedupe_key=job.dedupe_key,
                                     run_after=utcnow() + dt.timedelta(seconds=rerun_after))
            log.info("job done", extra=context)
        return True
