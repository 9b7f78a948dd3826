"""SIGKILL of a real worker process in the middle of a send, then a restart: exactly one
statement on Commons, whether the interrupted write landed or not; and with a second worker
running, the killed one's edit is sent by it as soon as the heartbeat is stale, not after the
lease."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from likeness.config import REPO_ROOT
from likeness.db import edits as edit_rows
from likeness.db.schema import edits
from likeness.edits import plan
from tests.fixtures.edits import TARGET_QID, statement_region
from tests.waiting import wait_for

LEASE = 2


def _start_worker(env, db_url: str, log: Path, **settings: str) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TOOL_")}
    environ.update(env.standin.env())
    environ.update({
        "LIKENESS_CONFIG": "/nonexistent/config.yaml",
        "TOOL_DATABASE__URL": db_url,
        "TOOL_SECRET_KEY": "test-secret-key",
        "TOOL_DATA_DIR": env.cfg.data_dir,
        "TOOL_WORKER__POLL_INTERVAL": "0.2",
        "TOOL_WORKER__LEASE_SECONDS": str(LEASE),
        "TOOL_EDITS__PACE_SECONDS": "0",
        "TOOL_APP__URL": "https://likeness.toolforge.org/",
        "PYTHONUNBUFFERED": "1",
        **settings,
    })
    handle = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=environ,
                            stdout=handle, stderr=subprocess.STDOUT)


def _row(env, page_id):
    with env.engine.connect() as conn:
        return edit_rows.for_pair(conn, page_id, TARGET_QID)


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            _kill(proc)


@pytest.mark.parametrize("landed", [True, False], ids=["write-landed", "write-not-landed"])
def test_sigkill_mid_send_then_restart_leaves_one_statement(edits_env, db_url, tmp_path,
                                                            landed):
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    env.confirm(page.title)
    with env.engine.begin() as conn:
        plan.queue_project(conn, env.project_id, env.user_id, "feedfacecafe")
    if landed:
        # The POST reaches the stand-in, which holds it, and applies it after we kill the worker.
        fault = env.standin.fault("commons.api", "delay", seconds=1.5, action="wbeditentity")
    else:
        # The worker is 'sending' (entity read) but dies waiting for its CSRF token.
        fault = env.standin.fault("commons.api", "delay", seconds=1.5, match={"meta": "tokens"})
    edits_before = len(env.standin.world.edits)
    log = tmp_path / "worker.log"

    first = _start_worker(env, db_url, log)
    try:
        wait_for(lambda: fault.applied == 1, 30, "the worker to reach the held request", log)
        assert _row(env, page.pageid).state == "sending"
        _kill(first)
    finally:
        if first.poll() is None:
            _kill(first)
    # Let the held request finish on the stand-in side.
    time.sleep(1.8)
    written_meanwhile = len(env.standin.world.edits) - edits_before
    assert written_meanwhile == (1 if landed else 0)
    interrupted = _row(env, page.pageid)
    assert interrupted.state == "sending" and interrupted.attempts == 1

    second = _start_worker(env, db_url, log)
    try:
        wait_for(lambda: _row(env, page.pageid).state == "done", 30, "the restarted worker", log)
    finally:
        _stop(second)

    depicts = [s for s in env.depicts(page.pageid)
               if s["mainsnak"]["datavalue"]["value"]["id"] == TARGET_QID]
    assert len(depicts) == 1 and statement_region(depicts[0]) == "pct:25,10,30,40"
    assert len(env.standin.world.edits) - edits_before == 1
    row = _row(env, page.pageid)
    assert row.statement_id == depicts[0]["id"] and row.created_statement
    assert row.attempts == 2
    if landed:
        assert row.revision_id is None and "interrupted" in row.error_message
    else:
        assert row.revision_id == env.entity(page.pageid)["lastrevid"]
    with env.engine.connect() as conn:
        assert conn.execute(select(edits.c.id)).all() == [(row.id,)]


def test_a_running_worker_takes_over_a_killed_workers_edit_when_its_heartbeat_is_stale(
        edits_env, db_url, tmp_path):
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    env.confirm(page.title)
    with env.engine.begin() as conn:
        plan.queue_project(conn, env.project_id, env.user_id, "0badc0ffee00")
    stale, lease = 3, 600
    settings = {"TOOL_WORKER__LEASE_SECONDS": str(lease),
                "TOOL_WORKER__HEARTBEAT_STALE_SECONDS": str(stale)}
    # Whichever worker claims the edit hangs on its CSRF token request; we kill that one.
    fault = env.standin.fault("commons.api", "delay", seconds=2.0, match={"meta": "tokens"})
    log = tmp_path / "workers.log"
    procs = [_start_worker(env, db_url, log, **settings) for _ in range(2)]
    try:
        wait_for(lambda: fault.applied == 1, 30, "a worker to reach the held request", log)
        holder = _row(env, page.pageid).lease_owner
        pid = int(holder.split(":")[-2])
        (victim,) = [p for p in procs if p.pid == pid]
        _kill(victim)
        killed_at = time.monotonic()
        done = wait_for(lambda: _row(env, page.pageid).state == "done", 30,
                        "the other worker to send the edit", log, interval=0.05)
        taken_over_after = time.monotonic() - killed_at
    finally:
        for proc in procs:
            _stop(proc)
    assert done
    row = _row(env, page.pageid)
    print(f"\nkilled worker's edit sent by the other worker {taken_over_after:.1f} s after "
          f"the kill (heartbeat stale after {stale} s, lease {lease} s)")
    assert taken_over_after < stale + 5 < lease
    assert row.attempts == 2 and row.lease_owner is None
    assert [s for s in env.depicts(page.pageid)
            if s["mainsnak"]["datavalue"]["value"]["id"] == TARGET_QID]
    assert len(env.posts()) == 1
