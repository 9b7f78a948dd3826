"""The worker's one face pool, started on first use and shared by image batches and box jobs.

dlib runs only in the pool's children (``likeness.faces.pool``); this wrapper sizes the pool from
the config and waits for results in short slices, calling a tick between them, so a slow or hung
child never keeps the loop from its heartbeat.
"""

from __future__ import annotations

import atexit
import math
from collections.abc import Callable
from typing import Any

from likeness.config import Config
from likeness.faces.pool import FacePool
from likeness.faces.types import Task, TaskResult

WAIT_SLICE = 0.5  # seconds per wait for results between ticks


class SharedPool:
    def __init__(self, cfg: Config, pool: FacePool | None = None, **overrides: Any) -> None:
        """``pool``: use this running pool instead of starting one (tests, benchmarks)."""
        self.cfg = cfg
        self.overrides = overrides
        self._pool: FacePool | None = pool
        self._stash: dict[Any, TaskResult] = {}

    def start(self) -> FacePool:
        """The running pool, started on first call (dlib loads in the children meanwhile)."""
        if self._pool is None:
            w = self.cfg.worker
            task_timeout = float(w.task_timeout)
            options: dict[str, Any] = {
                "task_timeout": task_timeout,
                "memory_limit_mb": w.child_memory_mb or None,
                # The per-task CPU budget is the deadline; the child retires before its
                # lifetime budget and is replaced.
                "cpu_lifetime_s": max(int(w.child_cpu_seconds), 2 * math.ceil(task_timeout)),
                "max_bytes": w.max_download_bytes,
                **self.overrides,
            }
            self._pool = FacePool(w.pool_size, **options)
            atexit.register(self.close)
        return self._pool

    @property
    def started(self) -> bool:
        return self._pool is not None

    @property
    def size(self) -> int:
        return self.start().size

    def submit(self, task: Task) -> None:
        self.start().submit(task)

    def results(self, timeout: float) -> list[tuple[Any, TaskResult]]:
        """Finished tasks, including any that finished while ``run`` waited for its own."""
        ready = list(self._stash.items())
        self._stash.clear()
        return ready + self.start().results(timeout=0 if ready else timeout)

    def run(self, task: Task, tick: Callable[[], object]) -> TaskResult:
        """Run one task, ticking while it works (the pool's deadline bounds the wait)."""
        pool = self.start()
        pool.submit(task)
        while task.task_id not in self._stash:
            for task_id, result in pool.results(timeout=WAIT_SLICE):
                self._stash[task_id] = result
            tick()
        return self._stash.pop(task.task_id)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def discard(self) -> None:
        """Forget a broken pool (children dying at start-up); the next use starts a new one."""
        try:
            self.close()
        except Exception:  # noqa: BLE001 - it is broken already; we only want it gone
            self._pool = None
        self._stash.clear()
