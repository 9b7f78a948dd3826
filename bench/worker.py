"""Worker throughput end to end, against a bare detect-and-encode loop measured in the same run.

The stand-in serves a sample of ../shared/faces (all groups/ and noface/ photos, plus the first
``--per-person`` photos of every person) in one category. For each pool size (default 1, 2, 4)
a real ``python -m worker`` process on a fresh SQLite database crawls it and processes every
file: imageinfo, download from the upload host, detect and encode in the pool, store. Its time
runs from the end of the crawl job to the last image stored, with the pool already started.

The floor: the same thumbnails (downloaded once, the same width), detected and encoded one after
another in this process by the very function the pool's children run. Ratios are pipeline
images/s over floor images/s; with 2 children on 2 cores the target is >= 1.8 (overhead under
10 %). Also printed: face recall on groups/ at the chosen width against full size, and the peak
RSS of the worker process and of its pool children (sampled from /proc every 0.2 s).

    .venv/bin/python bench/worker.py [--children 1,2,4] [--per-person 2] [--all]

The machine should be otherwise idle: every number here is CPU-bound.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402

from likeness.config import load_config  # noqa: E402
from likeness.db.engine import engine_for_url  # noqa: E402
from likeness.db.migrate import upgrade  # noqa: E402
from likeness.db.schema import faces, images, jobs, project_members, projects, users  # noqa: E402
from likeness.faces.child import ChildSettings, run_task  # noqa: E402
from likeness.faces.limits import (  # noqa: E402
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DETECT_PIXELS,
    DEFAULT_MAX_PIXELS,
)
from likeness.faces.types import Box, DetectResult, DetectTask  # noqa: E402
from likeness.faces.widths import thumb_width_for  # noqa: E402
from likeness.wiki.commons import category_members, image_infos  # noqa: E402
from likeness.wiki.factory import WORKER, download_session, make_clients  # noqa: E402

CATEGORY = "Likeness bench sample"
PAGE = os.sysconf("SC_PAGE_SIZE")


def faces_dir() -> Path:
    return Path(os.environ.get("LIKENESS_FACES_DIR", REPO.parent / "shared" / "faces"))


# --- the sample, served by the stand-in ---------------------------------------------------------


def start_standin(per_person: int, everything: bool, workdir: Path):  # type: ignore[no-untyped-def]
    from standin import StandIn, build_from_faces

    catalog = build_from_faces(faces_dir(), workdir / "catalog")
    server = StandIn(catalog).start()
    chosen = []
    for f in catalog.files:
        rel = Path(f.path).resolve().relative_to(faces_dir().resolve())
        portrait = rel.parts[0] in ("people", "extra_people")
        if everything or not portrait or (rel.stem.isdigit() and int(rel.stem) <= per_person):
            chosen.append((f, rel))
    titles = {}
    for f, rel in chosen:
        added = server.add_file(f.path, f"File:Bench {rel.as_posix().replace('/', ' ')}",
                                [f"Category:{CATEGORY}"])
        titles[rel] = added.title
    return server, titles


def sample_thumbnails(cfg, width: int) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """title -> thumbnail bytes, exactly as the worker will fetch them."""
    api = make_clients(cfg, use=WORKER).commons
    page_ids = [m.pageid for page in category_members(api, CATEGORY, types=("file",))
                for m in page]
    session = download_session(cfg)
    return {info.title: session.get(info.thumb_url, timeout=30).content
            for info in image_infos(api, page_ids, width).found}


# --- the floor: one process, the children's own function ------------------------------------


def child_settings() -> ChildSettings:
    return ChildSettings(None, None, None, DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS,
                         DEFAULT_MAX_DETECT_PIXELS)


def floor_loop(thumbs: dict[str, bytes], width: int) -> tuple[float, int, dict[str, object]]:
    from likeness.faces.detect import FaceEngine

    engine, settings = FaceEngine(), child_settings()
    results: dict[str, object] = {}
    started, cpu = time.perf_counter(), time.process_time()
    for n, (title, data) in enumerate(thumbs.items()):
        results[title] = run_task(DetectTask(n, data, max_width=width), engine, settings)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    n_faces = sum(len(r.faces) for r in results.values() if isinstance(r, DetectResult))
    results["__cpu__"] = cpu
    return elapsed, n_faces, results


# --- recall at the chosen width -----------------------------------------------------------


def iou(a: Box, b: Box) -> float:
    left, top = max(a.left, b.left), max(a.top, b.top)
    inter = max(0.0, min(a.right, b.right) - left) * max(0.0, min(a.bottom, b.bottom) - top)
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union else 0.0


def matched(reference: list[Box], found: list[Box], threshold: float = 0.3) -> int:
    unused, hits = list(found), 0
    for ref in reference:
        best = max(unused, key=lambda box: iou(ref, box), default=None)
        if best is not None and iou(ref, best) >= threshold:
            unused.remove(best)
            hits += 1
    return hits


def group_recall(floor_results: dict[str, object], titles: dict[Path, str]
                 ) -> tuple[int, int, int]:
    """(faces at full size, matched at the chosen width, groups) over groups/ in the sample."""
    from likeness.faces.detect import FaceEngine

    engine, settings = FaceEngine(), child_settings()
    full_total = hits = groups = 0
    for rel, title in sorted(titles.items()):
        if rel.parts[0] != "groups":
            continue
        path = faces_dir() / rel
        thumb = floor_results.get(title)
        if not isinstance(thumb, DetectResult):
            continue
        full = run_task(DetectTask(0, path.read_bytes()), engine, settings)
        assert isinstance(full, DetectResult)
        full_total += len(full.faces)
        hits += matched([f.box for f in full.faces], [f.box for f in thumb.faces])
        groups += 1
    return full_total, hits, groups


# --- one pipeline run ---------------------------------------------------------------------


@dataclass
class Rss:
    worker_peak: float = 0.0
    child_peak: float = 0.0
    tree_peak: float = 0.0
    seen: dict[int, float] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)  # pid -> CPU seconds, last sample

    def cpu_total(self) -> float:
        return sum(self.cpu.values())


def _cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _proc_status(pid: int) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            return dict(line.split(":", 1) for line in handle if ":" in line)
    except OSError:
        return {}


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


def _mb(status: dict[str, str], key: str) -> float:
    value = status.get(key, "0 kB").strip().split()[0]
    return int(value) / 1024 if value.isdigit() else 0.0


def sample_rss(pid: int, rss: Rss) -> list[float]:
    """Update peaks; returns the current RSS (MB) of descendants that have dlib loaded."""
    for each in [pid, *_descendants(pid)]:
        cpu = _cpu_seconds(each)
        if cpu is not None:
            rss.cpu[each] = cpu
    worker = _proc_status(pid)
    rss.worker_peak = max(rss.worker_peak, _mb(worker, "VmHWM"))
    total, loaded = _mb(worker, "VmRSS"), []
    for child in _descendants(pid):
        status = _proc_status(child)
        current = _mb(status, "VmRSS")
        total += current
        rss.seen[child] = max(rss.seen.get(child, 0.0), _mb(status, "VmHWM"))
        if current > 55:  # a pool child with the dlib models in memory (~67 MB)
            loaded.append(current)
    rss.child_peak = max(rss.seen.values(), default=0.0)
    rss.tree_peak = max(rss.tree_peak, total)
    return loaded


def pipeline_run(standin, children: int, workdir: Path,  # type: ignore[no-untyped-def]
                 expected: int) -> dict[str, float]:
    url = f"sqlite:///{workdir / f'bench-{children}.db'}"
    upgrade(url)
    engine = engine_for_url(url)
    env = {**os.environ, **standin.env(), "TOOL_DATABASE__URL": url, "TOOL_SECRET_KEY": "bench",
           "LIKENESS_CONFIG": str(workdir / "none.yaml"), "TOOL_WORKER__POLL_INTERVAL": "0.2",
           "TOOL_WORKER__POOL_SIZE": str(children)}
    log = (workdir / f"worker-{children}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "worker"], cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    rss = Rss()
    try:
        deadline = time.monotonic() + 120
        while len(sample_rss(proc.pid, rss)) < children:  # the pool is warm before we start
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"worker pool did not start; see {log.name}")
            time.sleep(0.2)
        cpu_at_start = rss.cpu_total()  # start-up (imports, dlib models) not counted
        worker_cpu_at_start = rss.cpu.get(proc.pid, 0.0)
        with engine.begin() as conn:
            user = conn.execute(users.insert().values(wiki_user_id=1, username="Bench")
                                ).inserted_primary_key[0]
            project = conn.execute(projects.insert().values(
                owner_id=user, qid="Q1", label="Bench", category=CATEGORY, depth=0)
            ).inserted_primary_key[0]
            conn.execute(project_members.insert().values(project_id=project, user_id=user,
                                                         role="owner"))
        while True:
            sample_rss(proc.pid, rss)
            with engine.connect() as conn:
                done = conn.execute(select(func.count()).where(
                    images.c.status.in_(("done", "failed", "skipped")))).scalar_one()
            if done >= expected:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited; see {log.name}")
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    with engine.connect() as conn:
        crawl_end = conn.execute(select(func.max(jobs.c.finished_at)).where(
            jobs.c.kind == "crawl")).scalar_one()
        last = conn.execute(select(func.max(images.c.processed_at))).scalar_one()
        n_done = conn.execute(select(func.count()).where(images.c.status == "done")).scalar_one()
        n_faces = conn.execute(select(func.count()).select_from(faces)).scalar_one()
        failed = conn.execute(select(func.count()).where(images.c.status != "done")).scalar_one()
    seconds = (last - crawl_end).total_seconds()
    units = [json.loads(line) for line in (workdir / f"worker-{children}.log").read_text(
        errors="replace").splitlines() if '"images unit"' in line]
    unit_s = sum(u["seconds"] for u in units)
    idle = sum(u["idle_child_seconds"] for u in units) / (children * unit_s) if unit_s else 0.0
    return {"idle": idle, "seconds": seconds, "images": n_done, "faces": n_faces, "failed": failed,
            "cpu": rss.cpu_total() - cpu_at_start, "worker_rss": rss.worker_peak,
            "worker_cpu": rss.cpu.get(proc.pid, 0.0) - worker_cpu_at_start,
            "child_rss": rss.child_peak, "tree_rss": rss.tree_peak}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", default="1,2,4", help="pool sizes to run")
    parser.add_argument("--per-person", type=int, default=2,
                        help="photos per person in the sample (groups and noface: all)")
    parser.add_argument("--all", action="store_true", help="every photo in ../shared/faces")
    args = parser.parse_args()
    sizes = [int(n) for n in args.children.split(",")]

    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="likeness-bench-") as tmp:
        workdir = Path(tmp)
        standin, titles = start_standin(args.per_person, args.all, workdir)
        try:
            cfg = load_config(path="/nonexistent", environ={},
                              overrides=standin.config_overrides())
            width = thumb_width_for(cfg.worker.thumb_width)
            thumbs = sample_thumbnails(cfg, width)  # also warms the stand-in's thumbnail cache
            n_groups = sum(1 for rel in titles if rel.parts[0] == "groups")
            print(f"sample: {len(thumbs)} files ({n_groups} group photos), thumbnails {width} px, "
                  f"{sum(map(len, thumbs.values())) / 1e6:.1f} MB")

            floor_s, floor_faces, floor_results = floor_loop(thumbs, width)
            floor_cpu = float(floor_results.pop("__cpu__"))  # type: ignore[arg-type]
            floor_rate = len(thumbs) / floor_s
            print(f"\nfloor (one process, bare detect+encode): {floor_s:.1f} s, "
                  f"{floor_rate:.2f} images/s, {floor_faces / floor_s:.2f} faces/s, "
                  f"{floor_faces} faces, {floor_cpu:.1f} CPU s")

            print("\nchildren  seconds  images/s  faces/s  ratio_vs_floor  cpu_s  cpu_vs_floor"
                  "  faces  not_done  worker_peak_MB  child_peak_MB  tree_peak_MB")
            for n in sizes:
                r = pipeline_run(standin, n, workdir, len(thumbs))
                rate = r["images"] / r["seconds"]
                print(f"{n:8d}  {r['seconds']:7.1f}  {rate:8.2f}  "
                      f"{r['faces'] / r['seconds']:7.2f}  {rate / floor_rate:14.2f}  "
                      f"{r['cpu']:5.1f}  {r['cpu'] / floor_cpu:12.2f}  {r['faces']:5d}  "
                      f"{r['failed']:8d}  {r['worker_rss']:14.0f}  "
                      f"{r['child_rss']:13.0f}  {r['tree_rss']:12.0f}")
                print(f"          of which the worker process itself: {r['worker_cpu']:.1f} CPU s;"
                      f" children without a task: {100 * r['idle']:.1f} % of their time")
                if r["faces"] != floor_faces:
                    print(f"          note: pipeline found {r['faces']} faces, floor "
                          f"{floor_faces}")

            again_s, _, again = floor_loop(thumbs, width)
            print(f"\nfloor again after the runs: {again_s:.1f} s, "
                  f"{len(thumbs) / again_s:.2f} images/s, {float(again['__cpu__']):.1f} CPU s "
                  f"(a change from the first measurement is other load on the machine)")

            full, hits, groups = group_recall(floor_results, titles)
            print(f"\nrecall on groups/ at {width} px vs full size: {hits}/{full} = "
                  f"{hits / full:.3f} ({groups} photos)")
            print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        finally:
            standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
