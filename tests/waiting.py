"""Waiting for something another process does (workers, gunicorn), with a clear failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 20.0, what: str = "condition",
             log: Path | None = None, interval: float = 0.1) -> T:
    """Poll until ``predicate()`` is truthy and return its value; fail after ``timeout`` s,
    showing the tail of ``log`` (a subprocess's output) when given."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{detail}")
        time.sleep(interval)
