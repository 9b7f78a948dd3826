"""Does the edits page stay fast with thousands of edits, for a second project on the person?

The page polls ``GET /api/projects/<id>/edits`` every two seconds while sending and pages its
lists. A project sees every edit its confirmed faces back, also those another project queued,
so its counts and lists test, per edit, whether the project has a confirmed face on that file.
This measures, for project B (confirmed faces on every file, none of the edits queued by it):

* counts   ``likeness.db.edit_reports.counts`` (per state, with the backing test)
* page     the first 50 written edits (``edit_reports.page``)
* to send  how many statements 'Send' would write (``likeness.db.edits.send_counts``, in SQL)
* preview  the statements themselves (``likeness.edits.plan.preview``: all confirmed faces;
           the page asks for it when it loads and for each "show more", not while polling)
* summary  the whole summary endpoint through the Flask test client (what the page polls)

against the baseline measured in the same run: the per-project count by state on
``ix_edits_project_state`` for project A, which is what the page used to show.

    .venv/bin/python bench/edits_page.py [--edits 5000] [--url mysql+pymysql://root@127.0.0.1/x]

Without --url a temporary SQLite file is used. With a MariaDB URL the database is created and
dropped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from likeness.config import load_config  # noqa: E402
from likeness.db import edit_reports  # noqa: E402
from likeness.db import edits as edit_rows  # noqa: E402
from likeness.db.engine import engine_for_url  # noqa: E402
from likeness.db.migrate import upgrade  # noqa: E402
from likeness.db.schema import (  # noqa: E402
    decisions,
    edits,
    faces,
    images,
    project_members,
    projects,
    users,
    utcnow,
)
from likeness.edits import plan  # noqa: E402

QID = "Q1"
STATES = ("done", "done", "done", "skipped", "failed", "pending")


def fill(engine, n: int) -> None:
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(users), [{"id": 1, "wiki_user_id": 1, "username": "a"},
                                     {"id": 2, "wiki_user_id": 2, "username": "b"}])
        conn.execute(insert(projects), [
            {"id": p, "owner_id": p, "qid": QID, "label": "x", "category": f"c{p}"}
            for p in (1, 2)])
        conn.execute(insert(project_members), [
            {"project_id": p, "user_id": p, "role": "owner"} for p in (1, 2)])
        for start in range(0, n, 2000):
            block = range(start, min(start + 2000, n))
            conn.execute(insert(images), [
                {"id": p * 10_000_000 + i, "project_id": p, "page_id": i + 1,
                 "title": f"File:{i}.jpg", "status": "done", "thumb_url": f"/t/{i}.jpg"}
                for p in (1, 2) for i in block])
            conn.execute(insert(faces), [
                {"id": p * 10_000_000 + i, "project_id": p, "image_id": p * 10_000_000 + i,
                 "box_left": .1, "box_top": .1, "box_width": .2, "box_height": .2,
                 "label": "yes"} for p in (1, 2) for i in block])
            conn.execute(insert(decisions), [
                {"project_id": p, "face_id": p * 10_000_000 + i, "user_id": p, "answer": "yes"}
                for p in (1, 2) for i in block])
            conn.execute(insert(edits), [
                {"page_id": i + 1, "qid": QID, "title": f"File:{i}.jpg", "project_id": 1,
                 "user_id": 1, "state": STATES[i % len(STATES)], "action": "add",
                 "region": "pct:10,10,20,20", "batch_id": f"{i // 500:012x}",
                 "created_statement": True, "created_at": now, "updated_at": now}
                for i in block])


def timed(work: Callable[[], object], rounds: int) -> float:
    """Median milliseconds of ``rounds`` calls (after one warm-up)."""
    work()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def run(url: str, n: int, rounds: int) -> None:
    upgrade(url)
    engine = engine_for_url(url)
    fill(engine, n)

    def baseline() -> object:
        with engine.connect() as conn:
            return conn.execute(select(edits.c.state, func.count()).where(
                edits.c.project_id == 1).group_by(edits.c.state)).all()

    def counts() -> object:
        with engine.connect() as conn:
            return edit_reports.counts(conn, 2, QID)

    def page() -> object:
        with engine.connect() as conn:
            return edit_reports.page(conn, 2, QID, "written", limit=50)

    def to_send() -> object:
        with engine.connect() as conn:
            return edit_rows.send_counts(conn, 2, QID)

    def preview() -> object:
        with engine.connect() as conn:
            return plan.preview(conn, 2)

    from webapp import create_app

    cfg = load_config(path="/nonexistent/config.yaml", environ={}, overrides={
        "database": {"url": url}, "secret_key": "bench", "secure_cookies": False})
    client = create_app(cfg).test_client()
    with client.session_transaction() as session:
        session["uid"] = 2

    def summary() -> object:
        response = client.get("/api/projects/2/edits")
        assert response.status_code == 200, response.data
        return response

    with engine.connect() as conn:
        got = edit_reports.counts(conn, 2, QID)
    assert got["elsewhere"] == n, got
    base = timed(baseline, rounds)
    print(f"{make_url(url).get_backend_name()}: {n} edits queued by project A, all backed by "
          f"project B's confirmed faces; median of {rounds}")
    print(f"  baseline (A's counts by project_id)  {base:8.1f} ms")
    for name, work in (("counts (B, backing test)", counts), ("first page of 50", page),
                       ("to send (counts)", to_send),
                       ("preview ('Send' would write)", preview),
                       ("summary endpoint", summary)):
        ms = timed(work, rounds)
        print(f"  {name:<36} {ms:8.1f} ms   {ms / base:6.1f} x baseline")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.url:
        base = make_url(args.url)
        name = f"bench_edits_page_{uuid.uuid4().hex[:8]}"
        admin = engine_for_url(base.set(database="").render_as_string(hide_password=False))
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        try:
            run(base.set(database=name).render_as_string(hide_password=False), args.edits,
                args.rounds)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE {name}")
            admin.dispose()
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", args.edits, args.rounds)


if __name__ == "__main__":
    main()
