"""How long does claiming the next edit take as the edits table grows?

``likeness.db.edits.claim_next`` adds two rules to a plain leased claim: one edit in flight per
user, and pacing (markers on finished rows). Both are answered from ``ix_edits_state_next_try``.
This compares it with the plain ``likeness.db.claims.claim`` on the same table (the baseline:
same readiness, no per-user rules), with many users, many finished rows and one busy user who
owns most pending edits (the worst case for skipping).

    .venv/bin/python bench/edits_claim.py [--done 20000] [--pending 5000] [--url mysql+pymysql://root@127.0.0.1/x]

Without --url a temporary SQLite file is used. With a MariaDB URL the database is created and
dropped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import and_, insert, or_, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from likeness.db import claims  # noqa: E402
from likeness.db import edits as edit_rows  # noqa: E402
from likeness.db.engine import engine_for_url  # noqa: E402
from likeness.db.migrate import upgrade  # noqa: E402
from likeness.db.schema import edits, projects, users, utcnow  # noqa: E402


def fill(engine, n_done: int, n_pending: int, n_users: int) -> None:
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(users), [{"id": i, "wiki_user_id": i, "username": f"u{i}"}
                                     for i in range(1, n_users + 1)])
        conn.execute(insert(projects).values(id=1, owner_id=1, qid="Q1", label="x",
                                             category="x"))
        rows = []
        for i in range(n_done + n_pending):
            done = i < n_done
            rows.append({
                "page_id": i + 1, "qid": "Q1", "title": f"File:{i}.jpg", "project_id": 1,
                # the busy user 1 owns 90 % of the pending edits
                "user_id": 1 if (not done and i % 10) else (i % n_users) + 1,
                "state": "done" if done else "pending", "action": "add",
                "created_statement": done, "attempts": 0, "created_at": now,
                "next_try_at": (now - dt.timedelta(seconds=30)) if done else None,
            })
            if len(rows) == 5000:
                conn.execute(insert(edits), rows)
                rows = []
        if rows:
            conn.execute(insert(edits), rows)
        # user 1 has an edit in flight: the claim must skip all of user 1's pending rows
        first_pending = n_done + 1
        conn.execute(update(edits).where(edits.c.page_id == first_pending).values(
            state="sending", lease_owner="other", lease_until=now + dt.timedelta(hours=1)))


def time_claims(engine, claim, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        with engine.begin() as conn:
            started = time.perf_counter()
            claimed = claim(conn)
            times.append(time.perf_counter() - started)
            conn.rollback()  # leave the table as it was
        assert claimed
    return times


def per_user(conn):
    return edit_rows.claim_next(conn, "bench", 60)


def baseline(conn):
    now = utcnow()
    ready = or_(and_(edits.c.state == "pending",
                     or_(edits.c.next_try_at.is_(None), edits.c.next_try_at <= now)),
                and_(edits.c.state == "sending", edits.c.lease_until < now))
    return claims.claim(conn, edits, ready, [edits.c.id], "bench", 60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--done", type=int, default=20000)
    parser.add_argument("--pending", type=int, default=5000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    drop = None
    if args.url:
        import pymysql

        server = make_url(args.url)
        name = f"bench_edits_{uuid.uuid4().hex[:8]}"
        with pymysql.connect(host=server.host, port=server.port or 3306, user=server.username,
                             password=server.password or "") as c:
            c.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        url = server.set(database=name).render_as_string(hide_password=False)
        drop = (server, name)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    try:
        upgrade(url)
        engine = engine_for_url(url)
        fill(engine, args.done, args.pending, args.users)
        base = time_claims(engine, baseline, args.rounds)
        ours = time_claims(engine, per_user, args.rounds)
        b, o = statistics.median(base), statistics.median(ours)
        print(f"database: {engine.dialect.name}; {args.done} done, {args.pending} pending "
              f"(90 % of them a busy user's), {args.users} users")
        print(f"baseline claim (no per-user rules): median {b * 1000:.2f} ms")
        print(f"claim_next (one per user + pace):   median {o * 1000:.2f} ms "
              f"(x{o / b:.2f} of baseline)")
        engine.dispose()
    finally:
        if drop:
            import pymysql

            server, name = drop
            with pymysql.connect(host=server.host, port=server.port or 3306,
                                 user=server.username, password=server.password or "") as c:
                c.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")


if __name__ == "__main__":
    main()
