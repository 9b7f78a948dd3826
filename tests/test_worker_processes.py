"""Real ``python -m worker`` processes on one database: any number share one project and produce
exactly the faces one worker does; SIGKILL mid-batch then a restart loses and duplicates nothing;
SIGTERM finishes the unit, a second SIGTERM exits at once. Runs on SQLite and MariaDB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from likeness.config import REPO_ROOT
from likeness.db import images as image_rows
from likeness.db.schema import images, utcnow, workers
from tests.fixtures.worker_pipeline import drain, face_rows, face_set, new_project
from tests.waiting import wait_for

CATEGORY, DEPTH, FILES = "Bill Gates", 1, 21  # 21 files, 27 faces, with a category cycle
_baseline: dict[str, set] = {}


@pytest.fixture
def baseline(make_worker, engine) -> set:
    """The faces one in-process worker finds on the tree (computed once per module)."""
    if "faces" not in _baseline:
        project_id = new_project(engine, CATEGORY, depth=DEPTH)
        drain(make_worker())
        _baseline["faces"] = face_set(engine, project_id)
        from sqlalchemy import delete

        from likeness.db.schema import metadata
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(delete(table))
    assert len(_baseline["faces"]) == 27
    return _baseline["faces"]


class Workers:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.procs = env, logs, []

    def start(self, n: int = 1) -> list[subprocess.Popen]:
        started = []
        for _ in range(n):
            log = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
            proc = subprocess.Popen([sys.executable, "-m", "worker"], cwd=REPO_ROOT,
                                    env=self.env, stdout=log, stderr=subprocess.STDOUT)
            self.procs.append(proc)
            started.append(proc)
        return started

    def stop_all(self, timeout: float = 30) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()   # don't leave it running; fail with what it was doing
                proc.wait()
                raise AssertionError(f"worker ignored SIGTERM for {timeout} s:\n"
                                     + self.tail(proc)) from None
            assert code in (0, -signal.SIGKILL), self.tail(proc)

    def tail(self, proc: subprocess.Popen) -> str:
        index = self.procs.index(proc)
        return (self.logs / f"worker-{index}.log").read_text(errors="replace")[-3000:]


@pytest.fixture
def spawn(db_url, standin, tmp_path) -> Iterator[Workers]:
    env = {**os.environ, **standin.env(), "TOOL_DATABASE__URL": db_url, "TOOL_SECRET_KEY": "x",
           "LIKENESS_CONFIG": str(tmp_path / "none.yaml"),
           "TOOL_WORKER__POLL_INTERVAL": "0.2", "TOOL_WORKER__POOL_SIZE": "1",
           "TOOL_WORKER__BATCH_SIZE": "2", "TOOL_WORKER__LEASE_SECONDS": "4",
           "TOOL_WORKER__RETRY_BASE_SECONDS": "0"}
    group = Workers(env, tmp_path)
    yield group
    for proc in group.procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def counts(engine, project_id):
    with engine.connect() as conn:
        return image_rows.processing_counts(conn, project_id)


def all_done(engine, project_id) -> bool:
    c = counts(engine, project_id)
    return c.found == FILES and c.done == FILES


def leases_of(engine, proc) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).where(
            images.c.lease_owner.like(f"%:{proc.pid}:%"), images.c.lease_until > utcnow(),
            images.c.status == "pending")).scalar_one()


def assert_same_faces(engine, project_id, baseline) -> None:
    rows = face_rows(engine, project_id)
    keys = [key for key, _ in rows]
    assert len(keys) == len(set(keys)), "an image's faces were stored twice"
    assert set(keys) == baseline


@pytest.mark.parametrize("n", [2, 4])
def test_many_workers_share_one_project_and_find_the_same_faces(n, baseline, spawn, engine):
    project_id = new_project(engine, CATEGORY, depth=DEPTH)
    spawn.start(n)
    wait_for(lambda: all_done(engine, project_id), 120, "every image processed")
    spawn.stop_all()
    assert_same_faces(engine, project_id, baseline)
    with engine.connect() as conn:
        done_by = conn.execute(select(workers.c.images_done)).scalars().all()
    assert len(done_by) == n and sum(done_by) == FILES
    assert sum(1 for d in done_by if d > 0) >= 2  # the work was shared


def test_sigkill_mid_batch_then_restart_loses_and_duplicates_nothing(baseline, spawn, engine):
    project_id = new_project(engine, CATEGORY, depth=DEPTH)
    victim, survivor = spawn.start(2)
    wait_for(lambda: counts(engine, project_id).done >= 3 and leases_of(engine, victim) > 0,
             120, "the victim holding claims mid-batch")
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    spawn.start(1)  # the restart
    wait_for(lambda: all_done(engine, project_id), 120, "every image processed")
    spawn.stop_all()
    assert_same_faces(engine, project_id, baseline)
    c = counts(engine, project_id)
    assert (c.pending, c.failed, c.faces) == (0, 0, len(baseline))


def test_sigterm_finishes_the_unit_and_a_second_one_exits_at_once(spawn, engine):
    project_id = new_project(engine, CATEGORY, depth=DEPTH)
    (proc,) = spawn.start(1)
    wait_for(lambda: leases_of(engine, proc) > 0, 120, "the worker holding claims")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=25) == 0, spawn.tail(proc)
    assert leases_of(engine, proc) == 0  # its unit was finished, nothing left claimed
    c = counts(engine, project_id)
    assert c.done >= 1 and c.found == FILES

    (proc,) = spawn.start(1)
    wait_for(lambda: leases_of(engine, proc) > 0 or all_done(engine, project_id), 120,
             "the second worker at work")
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) in (0, 128 + signal.SIGTERM)
    assert time.monotonic() - started < 3
