"""What every unit of work in a worker process shares: config, database, wiki clients, the face
pool, downloads, and the heartbeat. Built once by ``worker.loop``; jobs and loop handlers get
it as their first argument and never import the loop."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from likeness.config import Config
from likeness.db import workers as worker_rows
from likeness.retry import RetryPolicy
from likeness.wiki.factory import WORKER, WikiClients, make_clients
from worker.download import Downloader
from worker.facepool import SharedPool
from worker.shutdown import Shutdown

log = logging.getLogger("likeness.worker")


class Heartbeat:
    """The worker's row in ``workers`` and the health file Toolforge's check reads."""

    def __init__(self, engine: Engine, worker_id: str, health_file: str | None) -> None:
        self.engine = engine
        self.worker_id = worker_id
        self.health = Path(health_file) if health_file else None

    def register(self, version: str, stale_seconds: int) -> None:
        """``stale_seconds``: silence after which this worker counts as dead and its claims
        are free (likeness.db.claims)."""
        with self.engine.begin() as conn:
            worker_rows.register(conn, self.worker_id, socket.gethostname(), os.getpid(),
                                 version, stale_seconds)

    def beat(self, state: str, current: str | None = None) -> None:
        """Touch the health file and the heartbeat row (cheap; called often)."""
        if self.health:
            self.health.touch()
        try:
            with self.engine.begin() as conn:
                worker_rows.beat(conn, self.worker_id, state, current)
        except Exception:
            # A database hiccup must not kill the loop; the next beat retries.
            log.warning("heartbeat failed", exc_info=True, extra={"worker": self.worker_id})


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class WorkerContext:
    cfg: Config
    engine: Engine
    pool: SharedPool
    id: str = field(default_factory=new_worker_id)
    shutdown: Shutdown = field(default_factory=Shutdown)
    wiki: WikiClients = field(init=False)
    downloads: Downloader = field(init=False)
    heartbeat: Heartbeat = field(init=False)

    def __post_init__(self) -> None:
        self.wiki = make_clients(self.cfg, use=WORKER)
        self.downloads = Downloader(self.cfg)
        self.heartbeat = Heartbeat(self.engine, self.id, self.cfg.worker.health_file)

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.cfg.worker.max_attempts, self.cfg.worker.retry_base_seconds)

    @property
    def lease_seconds(self) -> int:
        return self.cfg.worker.lease_seconds

    def beat(self, state: str, current: str | None = None) -> None:
        self.heartbeat.beat(state, current)
