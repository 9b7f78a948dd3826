"""When MariaDB drops the tool's connections (KILL CONNECTION), web and workers reconnect."""

import os
import signal
import subprocess
import sys
import time

import pymysql
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from likeness.config import REPO_ROOT
from likeness.db import jobs
from likeness.db.engine import engine_for_url
from likeness.db.schema import workers
from tests.fixtures.db import mariadb_server_url

pytestmark = pytest.mark.skipif(not mariadb_server_url(),
                                reason="KILL CONNECTION is a MariaDB test (set DATABASE_URL)")


def kill_connections(db_url: str) -> int:
    """Kill every connection to the test database except our own; returns how many."""
    url = make_url(db_url)
    with pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                         password=url.password or "") as admin:
        cursor = admin.cursor()
        cursor.execute("SELECT id FROM information_schema.processlist WHERE db = %s "
                       "AND id <> CONNECTION_ID()", (url.database,))
        ids = [row[0] for row in cursor.fetchall()]
        for connection_id in ids:
            cursor.execute(f"KILL CONNECTION {int(connection_id)}")
    return len(ids)


def test_pooled_connections_are_replaced_after_kill(db_url, engine):
    fresh = engine_for_url(db_url, pool_size=2)
    try:
        with fresh.begin() as conn:
            jobs.enqueue(conn, "crawl")
        assert kill_connections(db_url) >= 1
        with fresh.begin() as conn:  # pre-ping notices the dead connection and reconnects
            assert jobs.claim_next(conn, "w1", 60) is not None
    finally:
        fresh.dispose()


def test_worker_survives_killed_connections(engine, db_url, tmp_path):
    env = {**os.environ, "TOOL_DATABASE__URL": db_url, "TOOL_WORKER__POLL_INTERVAL": "0.2",
           "TOOL_WORKER__HEALTH_FILE": str(tmp_path / "health"), "TOOL_SECRET_KEY": "x",
           "LIKENESS_CONFIG": str(tmp_path / "none.yaml")}
    proc = subprocess.Popen([sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def heartbeat():
        with engine.connect() as conn:
            return conn.execute(select(workers.c.heartbeat_at)
                                .where(workers.c.pid == proc.pid)).scalar()

    try:
        deadline = time.monotonic() + 20
        while heartbeat() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(3):
            assert kill_connections(db_url) >= 1
            time.sleep(0.5)
        before = heartbeat()
        deadline = time.monotonic() + 20
        while heartbeat() <= before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert heartbeat() > before, "the worker stopped beating after its connections died"
        assert proc.poll() is None
        with engine.begin() as conn:
            jobs.enqueue(conn, "no-such-kind")  # proof the database is usable for everyone
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def test_a_busy_process_stays_within_its_connection_budget(db_url):
    """pool_size + 1 overflow connections per process, however many threads (README budget)."""
    import threading

    from sqlalchemy import text

    url = make_url(db_url)
    busy = engine_for_url(db_url, pool_size=2)
    peak = []

    def count() -> int:
        with pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                             password=url.password or "") as admin:
            cursor = admin.cursor()
            cursor.execute("SELECT COUNT(*) FROM information_schema.processlist WHERE db = %s",
                           (url.database,))
            return cursor.fetchone()[0]

    def work() -> None:
        for _ in range(5):
            with busy.connect() as conn:
                conn.execute(text("SELECT SLEEP(0.05)"))

    baseline = count()
    threads = [threading.Thread(target=work) for _ in range(10)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        peak.append(count() - baseline)
        time.sleep(0.02)
    busy.dispose()
    assert 1 <= max(peak) <= 3
