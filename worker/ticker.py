"""Keeps a long unit of work visibly alive: heartbeat, health file and lease renewal.

The main loop beats between units; a unit that runs longer (a crawl of a big tree, a batch of
images) calls its Ticker between steps, so the health file never goes 30 s without a touch and
its claims never expire under it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import Connection

from worker.context import WorkerContext

log = logging.getLogger("likeness.worker.ticker")

BEAT_EVERY = 2.0  # seconds between heartbeats from inside a unit

# Renews the unit's claims in the given transaction; returns how many are still ours.
Renewer = Callable[[Connection], int]


class Ticker:
    def __init__(self, ctx: WorkerContext, what: str, renew: Renewer | None = None) -> None:
        self.ctx = ctx
        self.what = what
        self.renew = renew
        self.renew_every = max(1.0, ctx.lease_seconds / 4)
        self._last_beat = self._last_renew = time.monotonic()
        self.lost = False

    def __call__(self) -> bool:
        """Beat and renew when due; False once a renewal found none of our claims left."""
        now = time.monotonic()
        if now - self._last_beat >= BEAT_EVERY:
            self._last_beat = now
            self.ctx.beat("busy", self.what)
        if self.renew is not None and now - self._last_renew >= self.renew_every:
            self._last_renew = now
            try:
                with self.ctx.engine.begin() as conn:
                    if self.renew(conn) == 0:
                        self.lost = True
            except Exception:
                # A failed renewal is retried at the next tick; the lease has slack for that.
                log.warning("lease renewal failed", exc_info=True,
                            extra={"worker": self.ctx.id, "unit": self.what})
        return not self.lost

    @property
    def stopping(self) -> bool:
        """Shutdown was requested (finish the current step, start nothing new)."""
        return self.ctx.shutdown.requested
