"""The worker process: its loop, and which units of work it does (nothing in worker/ imports
this module; every unit gets the shared ``WorkerContext``).

Each pass gives every handler one turn: a handler does at most one bounded unit of work and
says whether it found any; when none did, the worker sleeps ``worker.poll_interval``. Between
handlers it beats (heartbeat row and health file); long units beat themselves (``Ticker``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from sqlalchemy import Engine

from likeness.config import Config, load_config
from likeness.db.engine import make_engine
from likeness.db.jobs import JobKind
from likeness.edits.sender import Sender
from likeness.logs import setup_logging
from worker import crawl, edits, encode_box, housekeeping, seed, train
from worker.context import WorkerContext
from worker.facepool import SharedPool
from worker.jobs import JobRunner, JobSpec
from worker.periodic import Periodic
from worker.process import ImageProcessor

log = logging.getLogger("likeness.worker")

# A handler does at most one bounded unit of work and says whether it found any.
Handler = Callable[[], bool]

JOBS: dict[JobKind, JobSpec] = {
    JobKind.CRAWL: JobSpec(crawl.run),
    JobKind.SEED: JobSpec(seed.run),
    JobKind.TRAIN: JobSpec(train.run),
    JobKind.ENCODE_BOX: JobSpec(encode_box.run, give_up=encode_box.give_up),
}


class Worker:
    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.handlers: list[tuple[str, Handler]] = []

    @property
    def id(self) -> str:
        return self.ctx.id

    def add_handler(self, name: str, handler: Handler) -> None:
        self.handlers.append((name, handler))

    def run(self) -> None:
        ctx = self.ctx
        ctx.heartbeat.register(ctx.cfg.app.version, ctx.cfg.worker.heartbeat_stale_seconds)
        log.info("worker started", extra={"worker": ctx.id})
        try:
            while not ctx.shutdown.requested:
                if not self.run_once():
                    ctx.beat("idle")
                    ctx.shutdown.wait(ctx.cfg.worker.poll_interval)
        finally:
            ctx.beat("stopped")
            log.info("worker stopped", extra={"worker": ctx.id})

    def run_once(self) -> bool:
        """One pass over every handler; True when any of them did work."""
        busy = False
        for name, handler in self.handlers:
            if self.ctx.shutdown.requested:
                break
            self.ctx.beat("busy", name)
            try:
                busy = handler() or busy
            except Exception:
                # One failing unit must not stop the worker; the unit's own state records it.
                log.exception("handler failed", extra={"worker": self.ctx.id, "handler": name})
                busy = True
        return busy


def build_worker(cfg: Config, engine: Engine | None = None, *, pool: SharedPool | None = None,
                 job_kinds: Iterable[JobKind] = tuple(JobKind)) -> Worker:
    """A worker doing everything (``job_kinds`` narrows the jobs it runs, for tests)."""
    ctx = WorkerContext(cfg, engine or make_engine(cfg), pool or SharedPool(cfg))
    worker = Worker(ctx)
    worker.add_handler("jobs", JobRunner(ctx, {kind: JOBS[kind] for kind in job_kinds}))
    worker.add_handler("crawl_schedule",
                       Periodic(crawl.SCHEDULE_EVERY, lambda: crawl.schedule_crawls(ctx)))
    worker.add_handler("images", ImageProcessor(ctx))
    worker.add_handler("edits", Sender(ctx.engine, cfg, ctx.id).send_next)
    worker.add_handler("edit_upkeep", Periodic(edits.UPKEEP_SECONDS, lambda: edits.upkeep(ctx)))
    worker.add_handler("housekeeping",
                       Periodic(housekeeping.INTERVAL_SECONDS, lambda: housekeeping.sweep(ctx)))
    return worker


def main() -> int:
    setup_logging()
    worker = build_worker(load_config())
    worker.ctx.shutdown.install()
    worker.ctx.pool.start()  # the children load dlib while the first jobs run
    started = time.monotonic()
    worker.run()
    log.info("worker exit", extra={"worker": worker.id,
                                   "uptime_s": round(time.monotonic() - started)})
    return 0
