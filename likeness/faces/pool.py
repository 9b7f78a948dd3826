"""A crash-isolating pool of persistent child processes for decoding and dlib.

Modelled on pebble's and loky's process pools: one Pipe per child (a socketpair, no
/dev/shm-backed queue), ``multiprocessing.connection.wait`` on the pipes and the process
sentinels, and a deadline per task. A child that segfaults, exits, runs out of CPU or memory,
or hangs past its deadline is charged to the one task it held (an ImageError), killed
(terminate, then kill) and replaced; the other children carry on. dlib is imported only in the
children; the parent never unpickles anything a child sends (results come back as JSON).

Not thread-safe: one worker thread drives it. Typical use::

    with FacePool(size=2, task_timeout=60) as pool:
        for task_id, result in pool.map_unordered(tasks):
            ...  # result is a DetectResult or an ImageError
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import multiprocessing
import signal
import sys
import time
import types
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext, SpawnContext
from typing import Any

from likeness.faces.child import ChildSettings, child_main
from likeness.faces.limits import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DETECT_PIXELS,
    DEFAULT_MAX_PIXELS,
)
from likeness.faces.types import (
    DetectTask,
    EncodeBoxTask,
    ImageError,
    Task,
    TaskResult,
    TestTask,
    result_from_wire,
)

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # a result with 1,000 faces is under 1 MB
MAX_STARTUP_FAILURES = 3  # in a row, with no child becoming ready in between


def _context(method: str) -> ForkServerContext | SpawnContext:
    """The multiprocessing context of a start method the pool allows."""
    if method == "forkserver":
        return multiprocessing.get_context("forkserver")
    if method == "spawn":
        return multiprocessing.get_context("spawn")
    raise ValueError(f"unsupported start method {method!r}: use forkserver or spawn")


class PoolError(RuntimeError):
    """The pool cannot work at all (children die at start-up, or it was closed)."""


@dataclass(eq=False)
class _Child:
    process: Any  # multiprocessing.process.BaseProcess
    conn: Connection
    spawned_at: float
    ready: bool = False
    task: Task | None = None
    deadline: float = 0.0
    tasks_done: int = 0
    startup_s: float = 0.0
    pid: int = field(default=0)


class FacePool:
    """Persistent children that decode images and run dlib, one task each at a time.

    task_timeout: wall-clock seconds a child may spend on one task before it is killed.
    memory_limit_mb: RLIMIT_AS of each child (address space, not RSS; a child with dlib
        loaded maps about 300 MB). None: no limit.
    cpu_limit_s: CPU seconds per task (RLIMIT_CPU soft limit, re-armed per task); default
        task_timeout. cpu_lifetime_s: RLIMIT_CPU hard limit; the child retires before it.
    max_tasks_per_child / max_rss_mb: recycle a child after that many tasks, or when its RSS
        after a task exceeds max_rss_mb (None: half of memory_limit_mb; 0: never).
    start_method: "forkserver" (default: children fork from a small clean server, so they
        never inherit the parent's state) or "spawn". Never "fork".
    """

    def __init__(
        self,
        size: int = 2,
        *,
        task_timeout: float = 120.0,
        memory_limit_mb: int | None = 1536,
        cpu_limit_s: int | None = None,
        cpu_lifetime_s: int | None = 3600,
        max_tasks_per_child: int | None = 500,
        max_rss_mb: float | None = None,
        start_method: str = "forkserver",
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_detect_pixels: int | None = DEFAULT_MAX_DETECT_PIXELS,
        startup_timeout: float = 60.0,
        kill_grace: float = 1.0,
        allow_test_tasks: bool = False,
    ) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one child")
        if start_method == "fork":
            raise ValueError("fork would copy the parent's threads and locks; use forkserver")
        if cpu_limit_s is None:
            cpu_limit_s = max(1, int(task_timeout))
        if cpu_lifetime_s is not None and cpu_lifetime_s < 2 * cpu_limit_s:
            raise ValueError("cpu_lifetime_s must allow at least two tasks' cpu_limit_s")
        self.size = size
        self.task_timeout = task_timeout
        self.max_tasks_per_child = max_tasks_per_child
        if max_rss_mb is None and memory_limit_mb:  # heap fragmentation after big images
            max_rss_mb = memory_limit_mb / 2
        self.max_rss_mb = max_rss_mb
        self.startup_timeout = startup_timeout
        self.kill_grace = kill_grace
        self.allow_test_tasks = allow_test_tasks
        self.settings = ChildSettings(
            memory_limit_mb=memory_limit_mb,
            cpu_limit_s=cpu_limit_s,
            cpu_lifetime_s=cpu_lifetime_s,
            max_bytes=max_bytes,
            max_pixels=max_pixels,
            max_detect_pixels=max_detect_pixels,
            allow_test_tasks=allow_test_tasks,
        )
        self._ctx = _context(start_method)
        self._queue: deque[Task] = deque()
        self._done: deque[tuple[Any, Any]] = deque()
        self._ids: set[Any] = set()  # task ids queued or running, to refuse duplicates
        self._startup_failures = 0
        self._last_startup_error = ""
        self._closed = False
        self._names = itertools.count(1)
        self.stats = {"spawned": 0, "replaced": 0, "recycled": 0, "timeouts": 0, "crashes": 0}
        self._children: list[_Child] = [self._spawn() for _ in range(size)]

    # --- public API ---------------------------------------------------------------------

    def submit(self, task: Task, urgent: bool = False) -> Any:
        """Queue a task; returns its task_id, the ticket its result will carry.

        ``urgent`` puts it ahead of the queue (a box someone just drew and is waiting for).
        """
        self._check_open()
        if isinstance(task, TestTask) and not self.allow_test_tasks:
            raise ValueError("test tasks need FacePool(allow_test_tasks=True)")
        if not isinstance(task, DetectTask | EncodeBoxTask | TestTask):
            raise TypeError(f"not a face task: {type(task).__name__}")
        if task.task_id in self._ids:
            raise ValueError(f"task id {task.task_id!r} is already queued or running")
        self._ids.add(task.task_id)
        if urgent:
            self._queue.appendleft(task)
        else:
            self._queue.append(task)
        self._dispatch()
        return task.task_id

    @property
    def pending(self) -> int:
        """Tasks submitted whose results have not been collected yet."""
        return len(self._ids) + len(self._done)

    def results(self, timeout: float | None = None) -> list[tuple[Any, TaskResult]]:
        """Wait up to ``timeout`` seconds (None: until one arrives) for finished tasks.

        Returns every result available, possibly none on timeout, or none at once when
        nothing is pending.
        """
        self._check_open()
        end = None if timeout is None else time.monotonic() + timeout
        while not self._done and self._ids:
            remaining = None if end is None else end - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            self._step(remaining)
        out = list(self._done)
        self._done.clear()
        return out

    def map_unordered(
        self, tasks: Iterable[Task], lookahead: int | None = None
    ) -> Iterator[tuple[Any, TaskResult]]:
        """Run tasks, yielding (task_id, result) as each finishes.

        Only ``lookahead`` tasks (default 2 per child) are held at once, so an iterator of
        downloads is consumed as the pool frees up rather than all at once.
        """
        lookahead = lookahead or 2 * self.size
        source = iter(tasks)
        exhausted = False
        while True:
            while not exhausted and len(self._ids) < lookahead:
                task = next(source, None)
                if task is None:
                    exhausted = True
                else:
                    self.submit(task)
            if exhausted and not self._ids and not self._done:
                return
            yield from self.results(timeout=None)

    def run(self, task: Task, timeout: float | None = None) -> TaskResult:
        """Submit one task ahead of the queue and wait for its result.

        Results of other tasks that finish meanwhile stay for results().
        """
        task_id = self.submit(task, urgent=True)
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            for index, (done_id, result) in enumerate(self._done):
                if done_id == task_id:
                    del self._done[index]
                    return result
            remaining = None if end is None else end - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"task {task_id!r} did not finish in {timeout} s")
            self._step(remaining)

    def wait_ready(self, timeout: float | None = None) -> float:
        """Block until every child has loaded dlib; returns the seconds waited."""
        started = time.monotonic()
        end = started + (timeout if timeout is not None else self.startup_timeout)
        while not all(child.ready for child in self._children):
            if time.monotonic() >= end:
                raise TimeoutError("pool children did not become ready in time")
            self._step(end - time.monotonic())
        return time.monotonic() - started

    def child_pids(self) -> list[int]:
        return [child.process.pid for child in self._children]

    def close(self) -> None:
        """Stop every child (politely, then by force). Unfinished tasks are dropped."""
        if self._closed:
            return
        self._closed = True
        for child in self._children:
            with contextlib.suppress(OSError):
                child.conn.send(None)
        deadline = time.monotonic() + 2.0
        for child in self._children:
            child.process.join(max(0.0, deadline - time.monotonic()))
            self._stop(child)
        self._children = []
        self._queue.clear()
        self._ids.clear()

    def __enter__(self) -> FacePool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the event loop -----------------------------------------------------------------

    def _step(self, timeout: float | None) -> None:
        """Wait once for pipes, sentinels or the nearest deadline, then handle what happened."""
        self._dispatch()
        now = time.monotonic()
        waits = [timeout] if timeout is not None else []
        for child in self._children:
            if child.task is not None:
                waits.append(child.deadline - now)
            elif not child.ready:
                waits.append(child.spawned_at + self.startup_timeout - now)
        wait_for = max(0.0, min(waits)) if waits else None
        handles: list[Any] = [child.conn for child in self._children]
        handles += [child.process.sentinel for child in self._children]
        ready = set(wait(handles, wait_for))
        for child in list(self._children):
            if child.conn in ready:
                self._read(child)
        for child in list(self._children):
            if child in self._children and (
                child.process.sentinel in ready or not child.process.is_alive()
            ):
                self._on_death(child)
        self._check_deadlines()
        self._dispatch()

    def _read(self, child: _Child) -> None:
        try:
            while child.conn.poll():
                raw = child.conn.recv_bytes(MAX_MESSAGE_BYTES)
                self._on_message(child, raw)
                if child not in self._children:
                    return
        except (EOFError, OSError):
            pass  # the sentinel tells us the child is gone; _on_death charges the task

    def _on_message(self, child: _Child, raw: bytes) -> None:
        try:
            message = json.loads(raw)
            if "ready" in message:
                child.ready = True
                child.pid = int(message["ready"])
                child.startup_s = float(message.get("startup_s", 0.0))
                self._startup_failures = 0
                return
            if "startup_error" in message:
                self._last_startup_error = str(message["startup_error"])
                return  # the child exits next; _on_death counts the failure
            result = result_from_wire(message["result"])
        except (ValueError, KeyError, TypeError) as exc:
            log.error("face child %s sent a malformed message: %s", child.process.pid, exc)
            self._finish(child, ImageError("internal", f"malformed message from child: {exc}"))
            self._replace(child, "malformed message")
            return
        self._finish(child, result)
        child.tasks_done += 1
        reason = self._recycle_reason(child, message)
        if reason:
            self.stats["recycled"] += 1
            self._retire(child, reason)

    def _recycle_reason(self, child: _Child, message: dict[str, Any]) -> str:
        if message.get("retire"):
            return "child asked to retire"
        if self.max_tasks_per_child and child.tasks_done >= self.max_tasks_per_child:
            return f"{child.tasks_done} tasks done"
        if self.max_rss_mb and float(message.get("rss_mb", 0)) > self.max_rss_mb:
            return f"RSS {message['rss_mb']:.0f} MB"
        return ""

    def _on_death(self, child: _Child) -> None:
        child.process.join(self.kill_grace)
        code = child.process.exitcode
        if child.task is not None:
            self.stats["crashes"] += 1
            error = self._death_error(code)
            log.warning(
                "face child %s died on task %r: %s", child.process.pid, child.task.task_id, error
            )
            self._finish(child, error)
        elif not child.ready:
            self._startup_failures += 1
            if not self._last_startup_error:
                self._last_startup_error = f"exit code {code} before loading dlib (see stderr)"
            log.error(
                "face child %s died at start-up (exit %s): %s",
                child.process.pid,
                code,
                self._last_startup_error,
            )
        self._replace(child, f"exit code {code}")

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        for child in list(self._children):
            if child.task is not None and now >= child.deadline:
                self.stats["timeouts"] += 1
                log.warning(
                    "face task %r passed its %s s deadline; killing child %s",
                    child.task.task_id,
                    self.task_timeout,
                    child.process.pid,
                )
                self._finish(
                    child,
                    ImageError(
                        "timeout", f"no result after {self.task_timeout:g} s; the child was killed"
                    ),
                )
                self._replace(child, "timeout")
            elif not child.ready and now >= child.spawned_at + self.startup_timeout:
                self._startup_failures += 1
                self._last_startup_error = f"not ready after {self.startup_timeout:g} s"
                self._replace(child, "start-up timeout")

    def _death_error(self, code: int | None) -> ImageError:
        if code is not None and code < 0:
            sig = -code
            name = _signal_name(sig)
            if sig == signal.SIGXCPU:
                return ImageError(
                    "cpu", f"used more than {self.settings.cpu_limit_s} s of CPU ({name})"
                )
            if sig == signal.SIGKILL:
                return ImageError("crashed", "child killed by SIGKILL (out of memory?)")
            return ImageError("crashed", f"child died from {name} while working on this image")
        return ImageError("crashed", f"child exited with code {code} while working on this image")

    # --- children -----------------------------------------------------------------------

    def _dispatch(self) -> None:
        for child in self._children:
            if not self._queue:
                return
            if not child.ready or child.task is not None:
                continue
            task = self._queue.popleft()
            try:
                child.conn.send(task)
            except OSError:  # died since the last look; the task never reached it
                self._queue.appendleft(task)
                continue
            child.task = task
            child.deadline = time.monotonic() + self.task_timeout

    def _spawn(self) -> _Child:
        if self._startup_failures >= MAX_STARTUP_FAILURES:
            raise PoolError(
                f"face pool children keep dying at start-up: {self._last_startup_error or '?'}"
            )
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=child_main,
            args=(child_conn, self.settings),
            name=f"likeness-faces-{next(self._names)}",
            daemon=True,
        )
        with _parent_main_hidden():
            process.start()
        child_conn.close()  # the child holds its end; EOF on ours means it is gone
        self.stats["spawned"] += 1
        return _Child(process=process, conn=parent_conn, spawned_at=time.monotonic())

    def _replace(self, child: _Child, reason: str) -> None:
        log.info("replacing face child %s (%s)", child.process.pid, reason)
        self._stop(child)
        index = self._children.index(child)
        self.stats["replaced"] += 1
        try:
            self._children[index] = self._spawn()
        except PoolError:
            del self._children[index]
            self.close()
            raise

    def _retire(self, child: _Child, reason: str) -> None:
        with contextlib.suppress(OSError):
            child.conn.send(None)
        child.process.join(self.kill_grace)
        self._replace(child, reason)

    def _stop(self, child: _Child) -> None:
        """Terminate, then kill; always reap the process and close our end of its pipe."""
        process = child.process
        if process.is_alive():
            process.terminate()
            process.join(self.kill_grace)
        if process.is_alive():
            process.kill()
            process.join()
        child.conn.close()
        process.close()

    def _finish(self, child: _Child, result: Any) -> None:
        task = child.task
        if task is None:
            log.error("face child %s sent a result with no task", child.process.pid)
            return
        child.task = None
        self._ids.discard(task.task_id)
        self._done.append((task.task_id, result))

    def _check_open(self) -> None:
        if self._closed:
            raise PoolError("the face pool is closed")


@contextlib.contextmanager
def _parent_main_hidden() -> Iterator[None]:
    """Start children without re-running the parent's ``__main__`` in them.

    With spawn/forkserver, multiprocessing re-imports the parent's main script in every child
    (and, without an ``if __name__ == "__main__"`` guard, that script starts pools in a loop).
    The children's target lives in likeness.faces.child and tasks arrive over the pipe, so
    they never need the parent's main module: for the moment of start() it is a blank one.
    """
    real = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if real is not None:
            sys.modules["__main__"] = real


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"
