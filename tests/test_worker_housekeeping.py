"""The hourly housekeeping sweep: finished jobs, silent workers' rows and superseded model runs
are pruned; every project keeps its latest model run whole; open jobs are never touched."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update

from likeness.db import jobs as job_rows
from likeness.db.schema import jobs, model_runs, utcnow, workers
from tests import factories as f
from worker import housekeeping


def _job(conn, state: str, finished_days_ago: float | None) -> int:
    finished = None if finished_days_ago is None else \
        utcnow() - dt.timedelta(days=finished_days_ago)
    return conn.execute(insert(jobs).values(kind="crawl", state=state, payload="{}",
                                            finished_at=finished)).inserted_primary_key[0]


def _run(conn, project_id: int, days_ago: float) -> int:
    return conn.execute(insert(model_runs).values(
        project_id=project_id, params=b"encodings", threshold=0.5,
        created_at=utcnow() - dt.timedelta(days=days_ago))).inserted_primary_key[0]


def _worker(conn, worker_id: str, hours_ago: float) -> None:
    conn.execute(insert(workers).values(
        id=worker_id, hostname="h", pid=1, heartbeat_at=utcnow() - dt.timedelta(hours=hours_ago)))


def test_the_sweep_prunes_what_served_its_purpose(engine, make_context):
    with engine.begin() as conn:
        owner = f.user(conn)
        a, b = f.project(conn, owner), f.project(conn, owner)
        keep = {_job(conn, "done", 0.5), _job(conn, "failed", 2), _job(conn, "queued", None),
                _job(conn, "running", None)}
        _job(conn, "done", 2)
        _job(conn, "failed", 20)
        a_old, a_mid, a_latest = _run(conn, a, 40), _run(conn, a, 3), _run(conn, a, 1)
        b_only = _run(conn, b, 90)  # a project's latest run stays, however old
        _worker(conn, "alive", 0.01)
        _worker(conn, "gone", 30)

    assert housekeeping.sweep(make_context()) is False  # never counts as busy work

    with engine.connect() as conn:
        assert set(conn.execute(select(jobs.c.id)).scalars()) == keep
        runs = {r.id: r.params for r in conn.execute(select(model_runs))}
        assert set(conn.execute(select(workers.c.id)).scalars()) == {"alive"}
    assert set(runs) == {a_mid, a_latest, b_only} and a_old not in runs
    assert runs[a_latest] == runs[b_only] == b"encodings"
    assert runs[a_mid] is None  # superseded: its encodings are gone at once


def test_a_failed_job_stays_for_the_admin_page_until_its_time(engine, make_context):
    with engine.begin() as conn:
        job_id = _job(conn, "failed", 0)
    housekeeping.sweep(make_context())
    with engine.begin() as conn:
        assert job_rows.get(conn, job_id) is not None
        conn.execute(update(jobs).values(
            finished_at=utcnow() - dt.timedelta(days=housekeeping.FAILED_JOB_DAYS + 1)))
    housekeeping.sweep(make_context())
    with engine.connect() as conn:
        assert job_rows.get(conn, job_id) is None
