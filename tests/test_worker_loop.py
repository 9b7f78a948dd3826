"""The worker process: heartbeat row, health file, a clean exit on SIGTERM; its structure (one
loop nobody imports back, a handler for every job kind); the job runner."""

import ast
import os
import signal
import subprocess
import sys

from sqlalchemy import select

from likeness.config import REPO_ROOT
from likeness.db import jobs as job_rows
from likeness.db.jobs import JobKind
from likeness.db.schema import jobs, workers
from likeness.retry import Failed, Failure
from tests import factories
from tests.waiting import wait_for
from worker.jobs import JobRunner, JobSpec
from worker.loop import JOBS


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


def test_every_job_kind_has_a_handler():
    assert set(JOBS) == set(JobKind)
    assert all(callable(spec.run) for spec in JOBS.values())


def _worker_imports() -> dict[str, set[str]]:
    """module -> the worker modules it imports (TYPE_CHECKING imports included)."""
    graph = {}
    for path in (REPO_ROOT / "worker").glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            imported |= {n for n in names if n.startswith("worker.")
                         and (REPO_ROOT / (n.replace(".", "/") + ".py")).exists()}
        graph[f"worker.{path.stem}"] = imported
    return graph


def test_the_loop_is_imported_by_nothing_in_worker_and_there_is_no_import_cycle():
    graph = _worker_imports()
    assert "worker.loop" in graph and graph["worker.loop"]
    assert [m for m, deps in graph.items() if "worker.loop" in deps] == ["worker.__main__"]
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module not in done:
            for dep in graph.get(module, ()):
                visit(dep, (*path, module))
            done.add(module)

    for module in graph:
        visit(module, ())


def test_one_pass_runs_every_ready_job(engine, make_context):
    with engine.begin() as conn:
        owner = factories.user(conn)
        for _ in range(4):  # seeds of paused projects: quick, and no wiki call
            job_rows.enqueue_seed(conn, factories.project(conn, owner, status="paused"))
    runner = JobRunner(make_context(), JOBS)
    assert runner() is True
    with engine.connect() as conn:
        states = conn.execute(select(jobs.c.state)).scalars().all()
    assert states == ["done"] * 4


def test_a_job_that_cannot_succeed_fails_at_once_and_gives_up(engine, make_context):
    given_up = []

    def broken(ctx, job):
        raise Failed(Failure("bad_box", "the box is empty", retryable=False))

    with engine.begin() as conn:
        job_rows.enqueue_seed(conn, factories.project(conn, factories.user(conn)))
    spec = JobSpec(broken, give_up=lambda ctx, job, failure: given_up.append(failure.kind))
    assert JobRunner(make_context(), {JobKind.SEED: spec}).run_one()
    with engine.connect() as conn:
        job = conn.execute(select(jobs)).one()
    assert (job.state, job.error, given_up) == ("failed", "bad_box: the box is empty",
                                                ["bad_box"])
