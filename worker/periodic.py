"""A loop handler that does its work at most every so many seconds (scheduling, housekeeping)."""

from __future__ import annotations

import time
from collections.abc import Callable


class Periodic:
    def __init__(self, seconds: float, work: Callable[[], bool]) -> None:
        self.seconds = seconds
        self.work = work
        self._next = 0.0

    def __call__(self) -> bool:
        if time.monotonic() < self._next:
            return False
        self._next = time.monotonic() + self.seconds
        return self.work()
