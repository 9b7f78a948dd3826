"""The pool's child process: limits first, then dlib, then one task at a time.

Kept free of top-level numpy/Pillow/dlib imports: the parent imports this module to name the
process target, and the child must set its rlimits and thread counts before those libraries
load. Results go back as JSON bytes, never pickle, because this process parses hostile input.
"""

from __future__ import annotations

import faulthandler
import json
import math
import os
import resource
import signal
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from likeness.faces.types import (
    DetectResult,
    DetectTask,
    EncodeBoxTask,
    ImageError,
    Task,
    TestTask,
    result_to_wire,
)

MIB = 1024 * 1024


@dataclass(frozen=True)
class ChildSettings:
    """What a child needs to know; built by FacePool and pickled to the child once."""

    memory_limit_mb: int | None
    cpu_limit_s: int | None
    cpu_lifetime_s: int | None
    max_bytes: int
    max_pixels: int
    max_detect_pixels: int | None
    allow_test_tasks: bool = False


def child_main(conn: Connection, settings: ChildSettings) -> None:
    """Process target. Exits when the parent sends None or closes the pipe."""
    started = time.monotonic()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    faulthandler.enable()  # a native crash leaves a Python traceback in the log
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # one core per child; extra threads also eat address space
    try:
        apply_limits(settings)
        from likeness.faces.detect import FaceEngine

        engine = FaceEngine()
    except BaseException as exc:  # noqa: BLE001 - report why, then die
        _send(conn, {"startup_error": f"{type(exc).__name__}: {exc}"})
        return
    _send(conn, {"ready": os.getpid(), "startup_s": round(time.monotonic() - started, 3)})
    _serve(conn, engine, settings)


def apply_limits(settings: ChildSettings) -> None:
    """RLIMIT_AS caps memory; RLIMIT_CPU's hard limit caps the child's lifetime CPU.

    The per-task CPU budget is the soft limit, moved forward before each task (arm_cpu_budget):
    RLIMIT_CPU counts the whole process lifetime, so a fixed soft limit would kill a healthy
    child after enough tasks. SIGXCPU keeps its default action (terminate) because a Python
    handler would not run while dlib's C++ loop holds the thread.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files from crashes we expect
    if settings.memory_limit_mb:
        limit = settings.memory_limit_mb * MIB
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if settings.cpu_lifetime_s:
        hard = settings.cpu_lifetime_s
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))


def arm_cpu_budget(settings: ChildSettings) -> None:
    if not settings.cpu_limit_s:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(cpu_seconds()) + settings.cpu_limit_s
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / MIB
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _serve(conn: Connection, engine: Any, settings: ChildSettings) -> None:
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        arm_cpu_budget(settings)
        retire = False
        try:
            result = run_task(task, engine, settings)
        except MemoryError:
            result = ImageError("memory", f"out of memory (limit {settings.memory_limit_mb} MB)")
            retire = True  # a MemoryError can leave native state half-built: start afresh
        except Exception as exc:  # noqa: BLE001 - charged to the task, the child carries on
            result = ImageError("internal", f"{type(exc).__name__}: {exc}")
        used = cpu_seconds()
        if settings.cpu_lifetime_s and settings.cpu_limit_s:
            retire = retire or used + settings.cpu_limit_s > settings.cpu_lifetime_s
        try:
            _send(
                conn,
                {
                    "result": result_to_wire(result),
                    "cpu": used,
                    "rss_mb": rss_mb(),
                    "retire": retire,
                },
            )
        except OSError:  # the parent is gone: nobody to work for
            return
        if retire:
            return


def run_task(task: Task, engine: Any, settings: ChildSettings) -> Any:
    """One task -> DetectResult | ImageError (or a dict for test tasks)."""
    import numpy as np

    from likeness.faces.decode import DecodeError, decode_image, scale_down
    from likeness.faces.detect import BoxTooSmall
    from likeness.faces.limits import DecodeLimits

    if isinstance(task, TestTask):
        return _run_test_task(task, settings)
    if not isinstance(task, DetectTask | EncodeBoxTask):
        return ImageError("internal", f"unknown task type {type(task).__name__}")
    started = time.monotonic()
    limits = DecodeLimits(settings.max_bytes, settings.max_pixels)
    try:
        img = decode_image(task.data, limits)
    except DecodeError as exc:
        return exc.to_result()
    width, height = img.size
    max_width = task.max_width if isinstance(task, DetectTask) else None
    pixels = np.ascontiguousarray(
        np.asarray(scale_down(img, max_width, settings.max_detect_pixels), dtype=np.uint8)
    )
    del img
    if isinstance(task, DetectTask):
        faces = tuple(engine.detect(pixels, task.upsample))
    else:
        try:
            faces = (engine.encode_box(pixels, task.box),)
        except BoxTooSmall as exc:
            return ImageError("bad_box", str(exc))
    return DetectResult(width, height, faces, round(time.monotonic() - started, 4))


def _run_test_task(task: TestTask, settings: ChildSettings) -> Any:
    if not settings.allow_test_tasks:
        return ImageError("internal", "test tasks are disabled in this pool")
    if task.action == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif task.action == "exit":
        os._exit(int(task.arg) or 3)
    elif task.action == "hang":
        time.sleep(task.arg or 3600)
    elif task.action == "spin":
        while True:
            pass
    elif task.action == "allocate":
        block = bytearray(int(task.arg * MIB))
        return {"allocated_mb": len(block) / MIB}
    elif task.action == "limits":
        return {
            "as": list(resource.getrlimit(resource.RLIMIT_AS)),
            "cpu": list(resource.getrlimit(resource.RLIMIT_CPU)),
            "core": list(resource.getrlimit(resource.RLIMIT_CORE)),
            "cpu_used": cpu_seconds(),
            "pid": os.getpid(),
        }
    elif task.action == "modules":
        return {"dlib": "dlib" in sys.modules, "pid": os.getpid()}
    elif task.action == "echo":
        return {"arg": task.arg, "pid": os.getpid()}
    return ImageError("internal", f"unknown test action {task.action!r}")


def _send(conn: Connection, message: dict[str, Any]) -> None:
    conn.send_bytes(json.dumps(message).encode("utf-8"))
