"""Hourly retention sweep: erase the encodings of projects inactive for too long."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from likeness.db import retention

if TYPE_CHECKING:
    from worker.main import Worker

log = logging.getLogger("likeness.worker.retention")
INTERVAL_SECONDS = 3600


def sweep(worker: Worker) -> bool:
    days = worker.cfg.retention.inactive_project_days
    with worker.engine.begin() as conn:
        for project_id in retention.inactive_projects(conn, days):
            erased = retention.erase_encodings(conn, project_id)
            log.info("encodings erased", extra={"project": project_id, "faces": erased,
                                                "worker": worker.id})
    return False  # housekeeping never counts as "busy"
