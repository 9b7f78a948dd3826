"""Hourly retention sweep: erase the encodings of projects inactive for too long."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from likeness.db import retention

if TYPE_CHECKING:
    from worker.main import Worker

log = logging.getLogger("likeness.worker.retention")
INTERVAL_SECONDS = 3600


class RetentionSweep:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._next = 0.0

    def __call__(self) -> bool:
        if time.monotonic() < self._next:
            return False
        self._next = time.monotonic() + INTERVAL_SECONDS
        days = self.worker.cfg.retention.inactive_project_days
        with self.worker.engine.begin() as conn:
            for project_id in retention.inactive_projects(conn, days):
                erased = retention.erase_encodings(conn, project_id)
                log.info("encodings erased", extra={"project": project_id, "faces": erased,
                                                    "worker": self.worker.id})
        return False  # housekeeping never counts as "busy"
