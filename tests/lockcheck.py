"""Compare a venv with a lock file: every installed distribution pinned, at the pinned version.

Used by tests/test_lock.py for the dev venv, and by .ci/run for a production-only venv:
``python tests/lockcheck.py requirements.txt`` exits 1 and lists the differences.
``python tests/lockcheck.py --unpinned LOCK`` prints what the Makefile uninstalls after an
install, since pip never removes a distribution that left the lock.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
_WHEEL = re.compile(r"^\./(?:.*/)?([A-Za-z0-9_.]+)-([^-]+)-[^/]+\.whl")


def canonical(name: str) -> str:
    """PEP 503 name: case and runs of -_. do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(text: str) -> dict[str, str]:
    """Name -> version of every requirement in a lock (a local wheel's come from its file name)."""
    pins = {}
    for line in text.splitlines():
        match = _PIN.match(line) or _WHEEL.match(line)
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def installed() -> dict[str, str]:
    """Name -> version of every distribution in the running interpreter's environment."""
    return {canonical(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}


def differences(pins: dict[str, str], present: dict[str, str]) -> list[str]:
    """What keeps ``present`` from being exactly ``pins``, one line each (empty when equal)."""
    lines = []
    for name in sorted(pins.keys() | present.keys()):
        pinned, found = pins.get(name), present.get(name)
        if pinned is None:
            lines.append(f"{name}=={found} is installed but not in the lock")
        elif found is None:
            lines.append(f"{name}=={pinned} is locked but not installed")
        elif pinned != found:
            lines.append(f"{name} is {found}, the lock pins {pinned}")
    return lines


if __name__ == "__main__":
    pins = read_pins(Path(sys.argv[-1]).read_text())
    if sys.argv[1] == "--unpinned":
        print(" ".join(sorted(installed().keys() - pins.keys())))
        sys.exit(0)
    problems = differences(pins, installed())
    print("\n".join(problems) or f"the environment matches {sys.argv[1]}")
    sys.exit(1 if problems else 0)
