"""Server time of the labelling endpoints on a big project: 1,000,000 faces vs 10,000.

Seeds (once; reused while the counts match) a MariaDB database with two projects in the same
tables: one of 1M faces and one of 10k (5 faces per image, 2 % labelled, a model run, random
priorities, 512-byte encodings). The app runs under gunicorn as in production (2 workers x 4
threads, default connection pool). For each project, 20 labellers (threads, one user and one
session each, over HTTP) loop: POST queue/next (k=1, holding the face they show), look at it
(--think seconds on average; 1 s, a fast labeller), POST answers. Server time is gunicorn's own
request time from its access log; p50/p95 are printed for both sizes with the ratio big/small.
EXPLAIN of the queue query is printed too, so a plan change shows at once.

    .venv/bin/python bench/web.py [--url mysql+pymysql://root@127.0.0.1/likeness_bench]
        [--faces 1000000] [--small 10000] [--labellers 20] [--seconds 20] [--think 1.0]

Target (issue 6): p95 under 50 ms and within 2x of the small project.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pymysql
import requests
from sqlalchemy import (
    Engine,
    column,
    func,
    insert,
    literal,
    select,
    table,
    update,
)
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.deployed import free_port  # noqa: E402
from likeness.db import queue  # noqa: E402
from likeness.db import users as users_db  # noqa: E402
from likeness.db.engine import engine_for_url  # noqa: E402
from likeness.db.migrate import upgrade  # noqa: E402
from likeness.db.schema import (  # noqa: E402
    decisions,
    detections,
    faces,
    files,
    images,
    jobs,
    model_runs,
    project_members,
    projects,
    users,
)
from likeness.db.users import User  # noqa: E402

FACES_PER_IMAGE = 5
CHUNK = 100_000
ENCODING = bytes(range(256)) * 2   # 512 bytes, like 128 float32


def ensure_database(url: str) -> None:
    parsed = make_url(url)
    with pymysql.connect(host=parsed.host, port=parsed.port or 3306, user=parsed.username,
                         password=parsed.password or "") as conn:
        conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{parsed.database}` "
                              "CHARACTER SET utf8mb4")
    upgrade(url)


def seeded_projects(engine: Engine, sizes: list[int]) -> dict[int, int] | None:
    """size -> project id, when a previous run seeded exactly these sizes."""
    with engine.connect() as conn:
        rows = conn.execute(select(projects.c.id, projects.c.category)).all()
        found = {}
        for row in rows:
            if row.category.startswith("Bench "):
                size = int(row.category.split()[1])
                count = conn.execute(select(func.count()).select_from(faces)
                                     .where(faces.c.project_id == row.id)).scalar_one()
                if count == size:
                    found[size] = row.id
    return found if set(found) == set(sizes) else None


def seed(engine: Engine, sizes: list[int], labellers: int) -> dict[int, int]:
    with engine.begin() as conn:
        for t in (decisions, jobs, faces, detections, files, images, model_runs,
                  project_members, projects, users):
            conn.execute(t.delete())
        owner = conn.execute(insert(users).values(wiki_user_id=1, username="Bench owner")
                             ).inserted_primary_key[0]
        conn.execute(insert(users), [{"wiki_user_id": 100 + n, "username": f"Labeller {n}"}
                                     for n in range(labellers)])
    ids = {}
    for size in sizes:
        with engine.begin() as conn:
            pid = conn.execute(insert(projects).values(
                owner_id=owner, qid="Q42", label="Bench", category=f"Bench {size}",
                status="active")).inserted_primary_key[0]
            members = conn.execute(select(users.c.id)).scalars().all()
            conn.execute(insert(project_members), [
                {"project_id": pid, "user_id": uid, "role": "owner" if uid == owner
                 else "labeller"} for uid in members])
            conn.execute(insert(model_runs).values(project_id=pid, threshold=0.5))
        _seed_faces(engine, pid, size)
        ids[size] = pid
        print(f"seeded project {pid}: {size:,} faces", flush=True)
    return ids


def _seed_faces(engine: Engine, project_id: int, size: int) -> None:
    """INSERT ... SELECT from MariaDB's sequence engine: the server makes the rows. The
    labelling endpoints never read encodings, so every face refers to one detection."""
    n_images = -(-size // FACES_PER_IMAGE)
    with engine.begin() as conn:
        # Explicit ids: auto-increment leaves gaps between bulk inserts.
        first_image = (conn.execute(select(func.max(images.c.id))).scalar() or 0) + 1
        file_id = conn.execute(insert(files).values(
            page_id=project_id, title="File:Bench.jpg", created_at=func.now())
        ).inserted_primary_key[0]
        detection = conn.execute(insert(detections).values(
            file_id=file_id, box_left=0.1, box_top=0.2, box_width=0.1, box_height=0.15,
            encoding=ENCODING, created_at=func.now())).inserted_primary_key[0]
    for start in range(0, n_images, CHUNK):
        stop = min(n_images, start + CHUNK)
        seq = table(f"seq_{start + 1}_to_{stop}", column("seq"))
        with engine.begin() as conn:
            conn.execute(insert(images).from_select(
                ["id", "project_id", "page_id", "title", "origin", "status", "attempts",
                 "thumb_url", "thumb_width", "thumb_height", "created_at"],
                select(first_image - 1 + seq.c.seq, literal(project_id),
                       seq.c.seq + project_id * 10_000_000,
                       func.concat("File:Bench ", seq.c.seq, ".jpg"), literal("category"),
                       literal("done"), literal(0),
                       func.concat("https://upload.example/", seq.c.seq, ".jpg"),
                       literal(1280), literal(960), func.now())))
    for start in range(0, size, CHUNK):
        stop = min(size, start + CHUNK)
        seq = table(f"seq_{start}_to_{stop - 1}", column("seq"))
        labelled = func.rand(seq.c.seq) < 0.02
        with engine.begin() as conn:
            conn.execute(insert(faces).from_select(
                ["project_id", "image_id", "box_left", "box_top", "box_width", "box_height",
                 "detection_id", "source", "state", "label", "score", "priority",
                 "created_at"],
                select(literal(project_id),
                       first_image + func.floor(seq.c.seq / FACES_PER_IMAGE),
                       literal(0.1), literal(0.2), literal(0.1), literal(0.15),
                       literal(detection), literal("detector"), literal("active"),
                       func.if_(labelled, literal("yes"), None),
                       func.rand(seq.c.seq + 7), func.rand(seq.c.seq + 13),
                       func.now())))


def explain(engine: Engine, project_id: int, user_id: int) -> list:
    where = queue.askable(project_id, user_id, dt.datetime(2026, 1, 1), skipped=[1, 2, 3])
    query = (select(faces.c.id).where(where).order_by(faces.c.priority, faces.c.id).limit(1)
             .with_hint(faces, "FORCE INDEX (ix_faces_queue)", "mysql")
             .with_for_update(skip_locked=True))
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        return list(conn.exec_driver_sql("EXPLAIN " + sql))


# --- the load ------------------------------------------------------------------------------

class Server:
    """The app under gunicorn as in production (toolforge/Procfile: 2 workers x 4 threads,
    the default pool of 2 + 1 connections each). Server time per request is gunicorn's own
    request time (%(D)s in its access log): from the parsed request to the response sent."""

    def __init__(self, url: str, workdir: Path, workers: int, threads: int) -> None:
        self.log = workdir / "access.log"
        self.log.write_text("")
        self.port = free_port()
        self.secret = secrets.token_urlsafe(32)
        env = {**os.environ, "LIKENESS_CONFIG": "/nonexistent/config.yaml",
               "TOOL_DATABASE__URL": url, "TOOL_SECRET_KEY": self.secret,
               "TOOL_SECURE_COOKIES": "false", "TOOL_DATA_DIR": str(workdir),
               "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers),
             "--threads", str(threads), "--bind", f"127.0.0.1:{self.port}",
             "--access-logfile", str(self.log), "--access-logformat", "%(U)s %(s)s %(D)s",
             "webapp:create_app()"], cwd=REPO, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)

    def cookie(self, user: User) -> tuple[str, str]:
        """A signed Flask session for the user (what the OAuth login would leave)."""
        from flask import Flask
        from flask.sessions import SecureCookieSessionInterface

        from webapp.access import login_session

        app = Flask("bench")
        app.secret_key = self.secret
        csrf = f"bench-{user.id}"
        serializer = SecureCookieSessionInterface().get_signing_serializer(app)
        return serializer.dumps({**login_session(user), "csrf": csrf}), csrf

    def mark(self) -> int:
        return self.log.stat().st_size

    def samples(self, since: int) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {"next": [], "answer": []}
        with self.log.open() as handle:
            handle.seek(since)
            for line in handle:
                path, status, micros = line.split()
                key = "next" if path.endswith("/queue/next") else "answer" \
                    if path.endswith("/answers") else None
                if key and status == "200":
                    out[key].append(int(micros) / 1000)
        return out

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def run_load(server: Server, labellers: list[User], project_id: int, seconds: float,
             think: float) -> int:
    """Labellers loop next -> look -> answer until time is up; returns answers sent."""
    stop_at = time.monotonic() + seconds
    errors: list[str] = []
    answered = [0]

    def labeller(user: User) -> None:
        user_id = user.id
        http = requests.Session()
        cookie, csrf = server.cookie(user)
        http.cookies.set("session", cookie)
        headers = {"X-CSRF-Token": csrf, "Origin": server.base}
        api = f"{server.base}/api/projects/{project_id}"
        rng = random.Random(user_id)
        shown: int | None = None
        while time.monotonic() < stop_at:
            got = http.post(f"{api}/queue/next", headers=headers, timeout=30,
                            json={"k": 1, "held": [shown] if shown else []})
            if got.status_code != 200:
                errors.append(f"next {got.status_code} {got.text[:200]}")
                return
            found = got.json()["faces"]
            if shown is None:
                if not found:
                    errors.append("queue ran dry")
                    return
                shown = found[0]["id"]
                continue
            time.sleep(think * rng.uniform(0.5, 1.5))
            answer = http.post(f"{api}/answers", headers=headers, timeout=30,
                               json={"face_id": shown, "answer": rng.choice(["yes", "no"]),
                                     "token": f"{user_id}-{shown}"})
            if answer.status_code != 200:
                errors.append(f"answer {answer.status_code} {answer.text[:200]}")
                return
            answered[0] += 1
            shown = found[0]["id"] if found else None

    threads = [threading.Thread(target=labeller, args=(user,)) for user in labellers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"labeller failed: {errors[:3]}")
    return answered[0]


def clean_answers(engine: Engine, project_id: int) -> None:
    """Undo the bench's own answers so the next run starts from the same state."""
    with engine.begin() as conn:
        labelled = select(decisions.c.face_id).where(decisions.c.project_id == project_id)
        conn.execute(update(faces).where(faces.c.id.in_(labelled)).values(
            label=None, labelled_at=None))
        conn.execute(update(faces).where(faces.c.project_id == project_id,
                                         faces.c.reserved_by.is_not(None))
                     .values(reserved_by=None, reserved_until=None))
        conn.execute(decisions.delete().where(decisions.c.project_id == project_id))
        conn.execute(jobs.delete().where(jobs.c.project_id == project_id))


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="mysql+pymysql://root@127.0.0.1/likeness_bench")
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--labellers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean seconds a labeller looks at a face")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    args = parser.parse_args()
    if make_url(args.url).get_backend_name() != "mysql":
        raise SystemExit("bench/web.py needs MariaDB (it seeds with the sequence engine)")
    ensure_database(args.url)
    engine = engine_for_url(args.url, pool_size=4)
    sizes = [args.small, args.faces]
    started = time.perf_counter()
    ids = seeded_projects(engine, sizes) or seed(engine, sizes, args.labellers)
    print(f"data ready in {time.perf_counter() - started:.1f} s", flush=True)
    with engine.connect() as conn:
        some_user = conn.execute(select(func.max(users.c.id))).scalar_one()
    plan = explain(engine, ids[args.faces], some_user)
    print("EXPLAIN queue query on the big project:")
    for row in plan:
        print("  ", tuple(row))
    key = plan[0][5] if plan else None
    if key != "ix_faces_queue":
        print(f"WARNING: the queue query uses {key!r}, not ix_faces_queue")

    with engine.connect() as conn:
        user_ids = conn.execute(select(users.c.id).where(users.c.username.like("Labeller %"))
                                .order_by(users.c.id)).scalars().all()[:args.labellers]
        labellers = [users_db.get(conn, uid) for uid in user_ids]
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        server = Server(args.url, Path(workdir), args.workers, args.threads)
        try:
            for size in sizes:      # a short warm-up of both, so neither runs cold
                clean_answers(engine, ids[size])
                run_load(server, labellers, ids[size], 3, args.think)
                clean_answers(engine, ids[size])
            for size in sizes:
                since = server.mark()
                answered = run_load(server, labellers, ids[size], args.seconds, args.think)
                clean_answers(engine, ids[size])
                results[size] = samples = server.samples(since)
                print(f"{size:>9,} faces, {len(user_ids)} labellers, {args.seconds:.0f} s, "
                      f"{answered} answers: "
                      + ", ".join(f"{k} p50={pct(v, 50):.1f} ms p95={pct(v, 95):.1f} ms"
                                  for k, v in samples.items()), flush=True)
        finally:
            server.stop()

    print(f"\n{'endpoint':<8} {'p50 small':>10} {'p50 big':>9} {'p95 small':>10} "
          f"{'p95 big':>9} {'p95 ratio':>10}  target: p95 < 50 ms, ratio <= 2")
    ok = True
    for endpoint in ("next", "answer"):
        small, big = results[args.small][endpoint], results[args.faces][endpoint]
        ratio = pct(big, 95) / pct(small, 95)
        ok &= pct(big, 95) < 50 and ratio <= 2
        print(f"{endpoint:<8} {pct(small, 50):>8.1f}ms {pct(big, 50):>7.1f}ms "
              f"{pct(small, 95):>8.1f}ms {pct(big, 95):>7.1f}ms {ratio:>9.2f}x")
    print("target met" if ok else "TARGET MISSED")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
