"""``make run``: migrate the local database, then run the web app and one worker together.

Ctrl-C (or SIGTERM) stops both cleanly: each gets SIGTERM, finishes its current unit, exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from likeness.config import load_config
from likeness.db.migrate import upgrade


def main() -> int:
    # Plain-http localhost cannot keep Secure cookies in every browser.
    os.environ.setdefault("TOOL_SECURE_COOKIES", "false")
    port = os.environ.get("PORT", "5000")
    cfg = load_config()
    upgrade(cfg.database_url)
    print(f"Likeness: http://127.0.0.1:{port}/  (database: {cfg.database_url.split('@')[-1]})")
    if not cfg.login_available:
        print("Login is not configured: the home page says what to set.")
    children = [
        subprocess.Popen([sys.executable, "-m", "webapp", "--port", port]),
        subprocess.Popen([sys.executable, "-m", "worker"]),
    ]
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:
            for child in children:
                child.kill()
            return
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while all(child.poll() is None for child in children) and not stopping:
        time.sleep(0.2)
    stop(signal.SIGTERM, None) if not stopping else None
    deadline = time.monotonic() + 30
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
