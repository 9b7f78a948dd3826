"""Edits to Commons in the worker: a loop handler that sends one ready edit per call, and the
``send_edits`` / ``undo_edits`` job kinds that queue work for it.

Sending is a loop handler rather than one job per batch: every worker may run it, and the claim
in ``likeness.db.edits.claim_next`` guarantees that one user's edits go out one at a time, paced,
across all workers. One call sends at most one edit, so the loop keeps beating.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from likeness.db import edits as edit_rows
from likeness.db.jobs import Job
from likeness.edits.plan import new_batch_id, queue_project
from likeness.edits.sender import Sender

if TYPE_CHECKING:
    from worker.jobs import JobRunner
    from worker.main import Worker

log = logging.getLogger("likeness.worker.edits")

HOUSEKEEPING_SECONDS = 60.0


class EditLoop:
    """Loop handler: housekeeping now and then, then send one ready edit."""

    def __init__(self, worker: Worker, sender: Sender | None = None) -> None:
        self.worker = worker
        self.sender = sender or Sender(worker.engine, worker.cfg, worker.id)
        self._next_housekeeping = 0.0

    def __call__(self) -> bool:
        if time.monotonic() >= self._next_housekeeping:
            self._next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
            self.housekeeping()
        return self.sender.send_next()

    def housekeeping(self) -> None:
        """Queue removals for faces rejected after their statement was written."""
        with self.worker.engine.begin() as conn:
            removals = edit_rows.queue_removals_for_rejected(conn)
            orphans = edit_rows.fail_orphans(conn)
        if removals or orphans:
            log.info("edits.housekeeping", extra={"removals": removals, "orphans": orphans})


def send_edits_job(worker: Worker) -> Any:
    """Job ``send_edits`` (project_id, user_id): queue the project's wanted edits."""

    def run(job: Job) -> dict[str, Any]:
        if job.project_id is None or job.user_id is None:
            raise ValueError("send_edits needs project_id and user_id")
        with worker.engine.begin() as conn:
            batch, result = queue_project(conn, job.project_id, job.user_id,
                                          job.payload.get("batch_id"))
        return {"batch_id": batch, "queued": result.queued, "existing": result.existing}

    return run


def undo_edits_job(worker: Worker) -> Any:
    """Job ``undo_edits`` (project_id, user_id = the owner): queue removal of the project's
    statements; the sender removes each only if it is ours and unchanged since."""

    def run(job: Job) -> dict[str, Any]:
        if job.project_id is None or job.user_id is None:
            raise ValueError("undo_edits needs project_id and user_id")
        batch = job.payload.get("batch_id") or new_batch_id()
        with worker.engine.begin() as conn:
            removals = edit_rows.queue_undo(conn, job.project_id, job.user_id, batch)
        return {"batch_id": batch, "removals": removals}

    return run


def register(worker: Worker, jobs: JobRunner) -> None:
    """Called from worker/handlers.py."""
    jobs.register("send_edits", send_edits_job(worker))
    jobs.register("undo_edits", undo_edits_job(worker))
    worker.add_handler("edits", EditLoop(worker))
