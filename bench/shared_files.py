"""Detection work saved by detecting each Commons file once, with two overlapping projects.

The stand-in serves an event (every group photo in ../shared/faces) and the first
``--per-person`` portraits of two people; project A's category holds the event and A's
portraits, project B's the event and B's portraits, as two people who attended one event. A
real ``python -m worker`` (pool of ``--children``) on a fresh SQLite database processes them in
two phases: A alone, then B, created once A is done. Printed per phase: images (one per project
and file), detections run (the worker's own count), downloads from the upload host (the
stand-in's request log), images linked without a detection, seconds and CPU seconds of the
worker tree; then repeated detections over both phases (target 0). The baseline, measured in
the same run: B alone on another fresh database, which is what B cost when every project
detected its own files; B's ratio to it is what a second project over the same photos costs.

    .venv/bin/python bench/shared_files.py [--per-person 10] [--children 2]

The machine should be otherwise idle: the seconds are CPU-bound.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402

from bench.worker import Rss, faces_dir, sample_rss  # noqa: E402
from likeness.db.engine import engine_for_url  # noqa: E402
from likeness.db.migrate import upgrade  # noqa: E402
from likeness.db.schema import images, project_members, projects, users  # noqa: E402

PEOPLE = ("bill_gates", "george_w_bush")


def start_standin(per_person: int, workdir: Path):  # type: ignore[no-untyped-def]
    """The sample in two overlapping categories; returns (server, files per category)."""
    from standin import StandIn, build_from_faces

    catalog = build_from_faces(faces_dir(), workdir / "catalog")
    server = StandIn(catalog).start()
    sizes = {"Bench A": 0, "Bench B": 0}
    for f in catalog.files:
        rel = Path(f.path).resolve().relative_to(faces_dir().resolve())
        if rel.parts[0] == "groups":
            cats = ["Category:Bench A", "Category:Bench B"]
        elif (rel.parts[0] == "people" and rel.parts[1] in PEOPLE and rel.stem.isdigit()
              and int(rel.stem) <= per_person):
            cats = ["Category:Bench A" if rel.parts[1] == PEOPLE[0] else "Category:Bench B"]
        else:
            continue
        server.add_file(f.path, f"File:Shared bench {rel.as_posix().replace('/', ' ')}", cats)
        for cat in cats:
            sizes[cat.split(":", 1)[1]] += 1
    return server, sizes


def downloads(standin, since: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    counts: dict[str, int] = {}
    for row in standin.requests_log("upload", method="GET", since=since):
        counts[row["path"]] = counts.get(row["path"], 0) + 1
    return counts


def unit_counts(log: Path, skip: int) -> tuple[dict[str, int], int]:
    """Sum of the worker's ``images unit`` counts after the first ``skip`` units."""
    units = [json.loads(line) for line in log.read_text(errors="replace").splitlines()
             if '"images unit"' in line]
    total = {k: sum(u.get(k, 0) for u in units[skip:]) for k in ("detected", "linked", "done")}
    return total, len(units)


def add_project(engine, category: str) -> int:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        user = conn.execute(select(users.c.id)).scalar()
        if user is None:
            user = conn.execute(users.insert().values(wiki_user_id=1, username="Bench")
                                ).inserted_primary_key[0]
        project = conn.execute(projects.insert().values(
            owner_id=user, qid="Q1", label=category, category=category, depth=0)
        ).inserted_primary_key[0]
        conn.execute(project_members.insert().values(project_id=project, user_id=user,
                                                     role="owner"))
    return project


def wait_processed(engine, project_id: int, expected: int, proc, rss: Rss,  # type: ignore
                   timeout: float = 900) -> float:
    started = time.monotonic()
    while True:
        sample_rss(proc.pid, rss)
        with engine.connect() as conn:
            done = conn.execute(select(func.count()).where(
                images.c.project_id == project_id,
                images.c.status.in_(("done", "failed", "skipped")))).scalar_one()
        if done >= expected:
            return time.monotonic() - started
        if proc.poll() is not None or time.monotonic() - started > timeout:
            raise RuntimeError("the worker stopped or took too long")
        time.sleep(0.2)


def run_phases(standin, names: list[str], sizes: dict[str, int], children: int,  # type: ignore
               workdir: Path, label: str) -> tuple[list[tuple], dict[str, int]]:
    """Each project created once the previous one is processed, by one worker on a fresh
    database; returns (per phase: name, images, counts, downloads, seconds, CPU s) and the
    downloads per path over all phases."""
    url = f"sqlite:///{workdir / f'{label}.db'}"
    upgrade(url)
    engine = engine_for_url(url)
    env = {**os.environ, **standin.env(), "TOOL_DATABASE__URL": url,
           "TOOL_SECRET_KEY": "bench", "LIKENESS_CONFIG": str(workdir / "none.yaml"),
           "TOOL_WORKER__POLL_INTERVAL": "0.2", "TOOL_WORKER__POOL_SIZE": str(children)}
    log_path = workdir / f"{label}.log"
    proc = subprocess.Popen([sys.executable, "-m", "worker"], cwd=REPO, env=env,
                            stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    rss, rows, seen, units = Rss(), [], {}, 0
    try:
        deadline = time.monotonic() + 120
        while len(sample_rss(proc.pid, rss)) < children:  # a warm pool first
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"worker pool did not start; see {log_path}")
            time.sleep(0.2)
        for name in names:
            since, cpu = standin.world._seq, rss.cpu_total()
            project = add_project(engine, name)
            seconds = wait_processed(engine, project, sizes[name], proc, rss)
            time.sleep(1.0)  # the unit's log line comes when it ends
            counts, units = unit_counts(log_path, units)
            fetched = downloads(standin, since)
            for path, n in fetched.items():
                seen[path] = seen.get(path, 0) + n
            rows.append((name, sizes[name], counts, sum(fetched.values()), seconds,
                         rss.cpu_total() - cpu))
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        engine.dispose()
    return rows, seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-person", type=int, default=10)
    parser.add_argument("--children", type=int, default=2)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="likeness-bench-") as tmp:
        workdir = Path(tmp)
        standin, sizes = start_standin(args.per_person, workdir)
        try:
            rows, seen = run_phases(standin, ["Bench A", "Bench B"], sizes, args.children,
                                    workdir, "shared")
            (alone,), _ = run_phases(standin, ["Bench B"], sizes, args.children, workdir,
                                     "alone")
        finally:
            standin.stop()
    overlap = sizes["Bench A"] + sizes["Bench B"] - len(seen)
    print(f"sample: project A {sizes['Bench A']} files, project B {sizes['Bench B']} files, "
          f"{overlap} in both (the event's group photos); pool of {args.children}\n")
    print("phase                 images  detections  downloads  linked  seconds  cpu_s")
    for name, n, counts, fetched, seconds, cpu in [*rows, ("B alone (baseline)", *alone[1:])]:
        print(f"{name:20s}  {n:6d}  {counts['detected']:10d}  {fetched:9d}  "
              f"{counts['linked']:6d}  {seconds:7.1f}  {cpu:5.1f}")
    repeated = sum(seen.values()) - len(seen)
    before = sizes["Bench A"] + sizes["Bench B"]
    print(f"\nrepeated detections over A then B: {repeated} (one detection per project and "
          f"file, as before: {before} for {len(seen)} files, {before - len(seen)} repeated)")
    b, base = rows[1], alone
    print(f"project B after A against B alone: {b[4] / base[4]:.2f} of the time, "
          f"{b[5] / base[5]:.2f} of the CPU")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
