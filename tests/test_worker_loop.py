"""The worker process: heartbeat row, health file, and a clean exit on SIGTERM."""

import os
import signal
import subprocess
import sys

from sqlalchemy import select

from likeness.config import REPO_ROOT
from likeness.db.schema import workers
from tests.waiting import wait_for


def test_worker_beats_touches_health_file_and_stops_on_sigterm(engine, db_url, tmp_path):
    health = tmp_path / "health"
    env = {**os.environ, "TOOL_DATABASE__URL": db_url, "TOOL_WORKER__HEALTH_FILE": str(health),
           "TOOL_WORKER__POLL_INTERVAL": "0.2", "TOOL_SECRET_KEY": "x",
           "LIKENESS_CONFIG": str(tmp_path / "none.yaml")}
    proc = subprocess.Popen([sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def row():
            with engine.connect() as conn:
                return conn.execute(select(workers).where(workers.c.pid == proc.pid)).first()

        first = wait_for(row)
        wait_for(health.exists)
        wait_for(lambda: row().heartbeat_at > first.heartbeat_at)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert row().state == "stopped"
        assert b'"event": "worker stopped"' in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
