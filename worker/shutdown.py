"""SIGTERM/SIGINT only set a flag: finish the current unit, then exit; a second one forces."""

from __future__ import annotations

import os
import signal
import threading


class Shutdown:
    def __init__(self) -> None:
        self._event = threading.Event()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        if self._event.is_set():
            # Second signal: the operator means it. Exit now; leases expire and others resume.
            os._exit(128 + signum)
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def request(self) -> None:
        self._event.set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; returns True at once when shutdown is requested."""
        return self._event.wait(seconds)
