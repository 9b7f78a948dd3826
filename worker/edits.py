"""Edits to Commons in the worker: the edit queue's upkeep.

Sending itself is a loop handler (``likeness.edits.sender.Sender.send_next``, one edit per
call) rather than one job per batch: every worker may run it, and the claim in
``likeness.db.edits.claim_next`` guarantees that one user's edits go out one at a time, paced,
across all workers.
"""

from __future__ import annotations

import logging

from likeness.db import edits as edit_rows
from worker.context import WorkerContext

log = logging.getLogger("likeness.worker.edits")

UPKEEP_SECONDS = 60.0


def upkeep(ctx: WorkerContext) -> bool:
    """Queue removals for faces rejected after their statement was written, and fail edits
    whose project or face is gone (every UPKEEP_SECONDS)."""
    with ctx.engine.begin() as conn:
        removals = edit_rows.queue_removals_for_rejected(conn)
        orphans = edit_rows.fail_orphans(conn)
    if removals or orphans:
        log.info("edits.upkeep", extra={"removals": removals, "orphans": orphans})
    return False  # upkeep never counts as "busy"
