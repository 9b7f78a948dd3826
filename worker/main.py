"""The worker's main loop: heartbeat, health file, then one unit of work from each handler."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from likeness.config import Config, load_config
from likeness.db import workers as worker_rows
from likeness.db.engine import make_engine
from likeness.logs import setup_logging
from worker.shutdown import Shutdown

log = logging.getLogger("likeness.worker")

# A handler does at most one bounded unit of work and says whether it found any.
Handler = Callable[[], bool]


class Worker:
    def __init__(self, cfg: Config, engine: Engine, shutdown: Shutdown | None = None) -> None:
        self.cfg = cfg
        self.engine = engine
        self.shutdown = shutdown or Shutdown()
        self.id = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.handlers: list[tuple[str, Handler]] = []
        self._health = Path(cfg.worker.health_file) if cfg.worker.health_file else None

    def add_handler(self, name: str, handler: Handler) -> None:
        self.handlers.append((name, handler))

    def run(self) -> None:
        with self.engine.begin() as conn:
            worker_rows.register(conn, self.id, socket.gethostname(), os.getpid(),
                                 self.cfg.app.version, self.cfg.worker.heartbeat_stale_seconds)
        log.info("worker started", extra={"worker": self.id})
        try:
            while not self.shutdown.requested:
                busy = self.run_once()
                if not busy:
                    self.beat("idle")
                    self.shutdown.wait(self.cfg.worker.poll_interval)
        finally:
            self.beat("stopped")
            log.info("worker stopped", extra={"worker": self.id})

    def run_once(self) -> bool:
        """One pass over every handler; True when any of them did work."""
        busy = False
        for name, handler in self.handlers:
            if self.shutdown.requested:
                break
            self.beat("busy", name)
            try:
                busy = handler() or busy
            except Exception:
                # One failing unit must not stop the worker; the unit's own state records it.
                log.exception("handler failed", extra={"worker": self.id, "handler": name})
                busy = True
        return busy

    def beat(self, state: str, current: str | None = None) -> None:
        """Touch the health file and the heartbeat row (cheap; called often)."""
        if self._health:
            self._health.touch()
        try:
            with self.engine.begin() as conn:
                worker_rows.beat(conn, self.id, state, current)
        except Exception:
            # A database hiccup must not kill the loop; the next beat retries.
            log.warning("heartbeat failed", exc_info=True, extra={"worker": self.id})


def build_worker(cfg: Config) -> Worker:
    worker = Worker(cfg, make_engine(cfg))
    from worker.handlers import register_handlers

    register_handlers(worker)
    return worker


def main() -> int:
    setup_logging()
    cfg = load_config()
    worker = build_worker(cfg)
    worker.shutdown.install()
    started = time.monotonic()
    worker.run()
    log.info("worker exit", extra={"worker": worker.id,
                                   "uptime_s": round(time.monotonic() - started)})
    return 0
