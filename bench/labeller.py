"""A perfect labeller driving the real product over its HTTP JSON API (issue 13, end to end).

The Wikimedia stand-in serves a catalog built from ../shared/faces over real HTTP; the web app
runs as the Procfile starts it (gunicorn) and a real ``python -m worker`` crawls, detects and
trains, on a fresh SQLite database in a temporary data dir (or ``--database-url``). The labeller
logs in through the stand-in's OAuth as "Likeness Tester" (editing grant), and for each of
``--people`` people with at least 10 photos (picked with ``--seed``) creates projects on the
person's item through ``POST /api/projects``: **own** (the person's category) and **mixed**
(``Category:Likeness test files`` with depth 3: every photo of the folder, groups and no-face
photos included, the person about 3 % of the faces, like an event category). Once the worker
has processed every image it labels as a perfect labeller would:

* ``grid/next {k: 12, min: 3}``; a page is answered with ``grid {confirm, reject, token}``: one
  action for the page plus one per face clicked out;
* else ``queue/next {k: 1}`` and ``answers {face_id, answer}``: one action;
* a pause of ``--pause`` seconds after every POST (a person reading the next face), so the
  worker retrains as it would for a person;
* it stops when ``progress.stop.done`` is true, grid/next has nothing even with ``min: 1`` (the
  classify page shows a grid of one face when nothing else is left to ask) and the latest model
  run is newer than the last answer (or when queue/next has nothing left to ask at all).

"Found at done": the share of the targets confirmed or proposed (score at or above the
threshold: what review would send) when the progress first said done.

Ground truth, from the face's Commons file (``page_id``) back to its photo in the folder: on
``people/<slug>/`` photos the largest face is that person and every other face is not; faces on
other photos are not the target, except on a group photo that GROUPS.tsv lists the target on,
where the target is the face nearest (IoU) to the face that dlib, run here at full size, finds
nearest to the mean of the target's portrait encodings (``bench/face_dataset.py``'s cache),
if that distance is under 0.6. A group face that cannot be matched is answered "no" and left
out of the scores (printed as "excluded"). Nothing is ever sent to Commons.

    .venv/bin/python bench/labeller.py [--people 4] [--seed 1] [--kinds own,mixed]
        [--pause 1.5] [--faces ../shared/faces] [--database-url sqlite:///...] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import face_dataset  # noqa: E402
from bench.deployed import Client, start_tool  # noqa: E402
from standin import Catalog, StandIn, build_from_faces  # noqa: E402

USER = "Likeness Tester"
MIXED = ("Category:Likeness test files", 3)
MATCH_DISTANCE = 0.6


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


# --- ground truth ---------------------------------------------------------------------------

def category_tree(catalog: Catalog, root: str, depth: int) -> set[str]:
    """The category and its subcategories down to ``depth``, as the crawler walks them."""
    tree, level = {root}, {root}
    for _ in range(depth):
        level = {c.title for c in catalog.categories
                 if set(c.parents) & level and c.title not in tree}
        tree |= level
    return tree


def files_in_tree(catalog: Catalog, root: str, depth: int) -> int:
    tree = category_tree(catalog, root, depth)
    return sum(1 for f in catalog.files if set(f.categories) & tree)


def eligible_people(faces_dir: Path, at_least: int = 10) -> list[str]:
    return sorted(p.name for p in (faces_dir / "people").iterdir()
                  if p.is_dir() and len(list(p.glob("*.jpg"))) >= at_least)


def groups_listing(faces_dir: Path) -> dict[str, set[str]]:
    """Group photo (path relative to the folder) -> the slugs GROUPS.tsv puts on it."""
    listed: dict[str, set[str]] = {}
    for _rel, kind, people in face_dataset.list_images(faces_dir):
        if kind == "groups" and people:
            listed[_rel] = set(people.split(";"))
    return listed


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    return inter / (aw * ah + bw * bh - inter) if inter else 0.0


def target_box_on_group(path: Path, centroid: np.ndarray) -> tuple[float, ...] | None:
    """The face dlib finds nearest the target's mean encoding, as fractions (left, top, w, h),
    or None when no face is within MATCH_DISTANCE."""
    import face_recognition
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    boxes = face_recognition.face_locations(rgb, number_of_times_to_upsample=1, model="hog")
    if not boxes:
        return None
    enc = np.asarray(face_recognition.face_encodings(rgb, boxes))
    dist = np.linalg.norm(enc - centroid, axis=1)
    best = int(np.argmin(dist))
    if dist[best] >= MATCH_DISTANCE:
        return None
    top, right, bottom, left = boxes[best]
    height, width = rgb.shape[:2]
    return (left / width, top / height, (right - left) / width, (bottom - top) / height)


@dataclass
class Truth:
    """face id -> True (the target), False (not), None (undetermined: answered no, excluded)."""

    by_face: dict[int, bool | None]

    @property
    def targets(self) -> int:
        return sum(1 for v in self.by_face.values() if v)

    @property
    def excluded(self) -> int:
        return sum(1 for v in self.by_face.values() if v is None)


def build_truth(faces: list[dict], catalog: Catalog, faces_dir: Path, slug: str,
                centroid: np.ndarray, listed: dict[str, set[str]]) -> Truth:
    by_page = {f.pageid: f for f in catalog.files}
    by_image: dict[int, list[dict]] = {}
    for face in faces:
        by_image.setdefault(face["page_id"], []).append(face)
    truth: dict[int, bool | None] = {}
    for page_id, on_image in by_image.items():
        rel = Path(by_page[page_id].path).resolve().relative_to(faces_dir.resolve())
        boxes = {f["id"]: tuple(f["box"][k] for k in ("left", "top", "width", "height"))
                 for f in on_image}
        target_id: int | None = -1  # -1: no face here is the target; None: undetermined
        if rel.parts[0] == "people" and rel.parts[1] == slug:
            target_id = max(boxes, key=lambda i: boxes[i][2] * boxes[i][3])
        elif rel.as_posix() in listed and slug in listed[rel.as_posix()]:
            box = target_box_on_group(faces_dir / rel, centroid)
            overlaps = {i: iou(b, box) for i, b in boxes.items()} if box else {}
            best = max(overlaps, key=lambda i: overlaps[i], default=None)
            target_id = best if best is not None and overlaps[best] >= 0.3 else None
        for face_id in boxes:
            truth[face_id] = None if target_id is None else face_id == target_id
    return Truth(truth)


def all_faces(client: Client, project_id: int) -> list[dict]:
    out: list[dict] = []
    cursor: str | None = None
    while True:
        query = f"?limit=500&cursor={cursor}" if cursor else "?limit=500"
        page = client.get(f"/api/projects/{project_id}/faces{query}")
        out += page["faces"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


# --- labelling ------------------------------------------------------------------------------

@dataclass
class Outcome:
    person: str
    kind: str
    images: int
    faces: int
    targets: int
    excluded: int
    to_processed: float
    singles: int = 0
    pages: int = 0
    clicked_out: int = 0
    correct_yes: int = 0
    wrong_yes: int = 0
    found_at_done: float | None = None
    answer_to_done: float | None = None
    answer_to_stop: float = 0.0
    stopped_by: str = ""
    answered_at: list[float] = field(default_factory=list)   # wall clock of each POST
    runs_seen: set[str] = field(default_factory=set)         # model runs' trained_at

    @property
    def actions(self) -> int:
        return self.singles + self.pages + self.clicked_out

    def record(self, truth: bool | None, said_yes: bool) -> None:
        if said_yes:
            self.correct_yes += bool(truth)
            self.wrong_yes += not truth


def utc(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).replace(
        tzinfo=dt.UTC).timestamp()


class Labeller:
    def __init__(self, client: Client, project_id: int, truth: Truth, outcome: Outcome,
                 pause: float) -> None:
        self.client, self.project_id, self.truth = client, project_id, truth
        self.out, self.pause = outcome, pause
        self.api = f"/api/projects/{project_id}"
        self.started = 0.0
        self.verbose = False
        self.model = ""

    def progress(self) -> dict:
        snap = self.client.get(self.api + "/progress")
        if snap["model"]:
            self.out.runs_seen.add(snap["model"]["trained_at"])
        model, stop = snap["model"] or {}, snap["stop"]
        self.model = (f"+{model.get('positives')}/-{model.get('negatives')} "
                      f"proposed {stop['proposed']} uncertain {stop['uncertain']} "
                      f"left {stop['left_low']}-{stop['left_high']} done {stop['done']}")
        if snap["stop"]["done"] and self.out.found_at_done is None and self.started:
            self.out.answer_to_done = time.monotonic() - self.started
            self.out.found_at_done = self.found(snap["progress"]["threshold"])
        return snap

    def found(self, threshold: float) -> float:
        """Share of the targets confirmed or proposed (what would be sent after review)."""
        found = sum(1 for f in all_faces(self.client, self.project_id)
                    if self.truth.by_face.get(f["id"]) and (f["label"] == "yes" or (
                        f["label"] is None and (f["score"] or 0) >= threshold)))
        return found / max(self.out.targets, 1)

    def trained_since_last_answer(self, snap: dict) -> bool:
        last = max(self.out.answered_at, default=0.0)
        return bool(snap["model"]) and utc(snap["model"]["trained_at"]) > last

    def grid_page(self, at_least: int) -> bool:
        faces = self.client.post_ok(self.api + "/grid/next", {"k": 12, "min": at_least})["faces"]
        if not faces:
            return False
        confirm = [f["id"] for f in faces if self.truth.by_face.get(f["id"])]
        reject = [f["id"] for f in faces if f["id"] not in confirm]
        self.client.post_ok(self.api + "/grid", {"confirm": confirm, "reject": reject,
                                              "token": uuid.uuid4().hex})
        self.answered()
        self.out.pages += 1
        self.out.clicked_out += len(reject)
        for f in faces:
            self.out.record(self.truth.by_face.get(f["id"]), f["id"] in confirm)
        self.trace(f"grid page of {len(faces)}, scores {fmt(faces[-1]['score'])}-"
                   f"{fmt(faces[0]['score'])}: {len(confirm)} confirmed, {len(reject)} out")
        return True

    def trace(self, what: str) -> None:
        if self.verbose:
            print(f"    {time.monotonic() - self.started:6.1f} s  {what}; model {self.model}",
                  flush=True)

    def single(self) -> bool:
        faces = self.client.post_ok(self.api + "/queue/next", {"k": 1})["faces"]
        if not faces:
            return False
        face = faces[0]
        yes = bool(self.truth.by_face.get(face["id"]))
        self.client.post_ok(self.api + "/answers", {"face_id": face["id"],
                                                 "answer": "yes" if yes else "no",
                                                 "token": uuid.uuid4().hex})
        self.answered()
        self.out.singles += 1
        self.out.record(self.truth.by_face.get(face["id"]), yes)
        self.trace(f"single face {face['id']} score {fmt(face['score'])} -> "
                   f"{'yes' if yes else 'no'}")
        return True

    def answered(self) -> None:
        if not self.started:
            self.started = time.monotonic()
        self.out.answered_at.append(time.time())
        time.sleep(self.pause)

    def run(self, timeout: float, settle: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snap = self.progress()
            if self.grid_page(3):
                continue
            if snap["stop"]["done"] and self.settled(settle):
                self.out.stopped_by = "done"
                break
            if not self.single() and not self.grid_page(1):
                self.out.stopped_by = "nothing left to ask"
                break
        else:
            self.out.stopped_by = "timeout"
        self.out.answer_to_stop = time.monotonic() - self.started if self.started else 0.0

    def settled(self, settle: float) -> bool:
        """Done by a model that has seen every answer, and still no grid page."""
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:
            snap = self.progress()
            if self.trained_since_last_answer(snap):
                # done: the page asks nothing else, so a grid of one face is shown too
                return snap["stop"]["done"] and not self.grid_page(1)
            time.sleep(0.5)
        return True  # the model did not catch up within `settle`: a person would stop anyway


def retrain_lags(outcome: Outcome) -> list[float]:
    """Seconds from each answer to the first model run seen that was trained after it."""
    runs = sorted(utc(t) for t in outcome.runs_seen)
    lags = []
    for at in outcome.answered_at:
        later = [r for r in runs if r > at]
        if later:
            lags.append(later[0] - at)
    return lags


# --- one project ----------------------------------------------------------------------------

def run_project(client: Client, catalog: Catalog, faces_dir: Path, fs: face_dataset.FaceSet,
                slug: str, kind: str, args: argparse.Namespace) -> Outcome:
    person = catalog.person(slug)
    category, depth = (person.category, 1) if kind == "own" else MIXED
    expected = files_in_tree(catalog, category, depth)
    created_at = time.monotonic()
    project = client.post_ok("/api/projects", {"item": person.qid, "category": category,
                                            "depth": depth})["project"]
    api = f"/api/projects/{project['id']}"

    def processed() -> dict | None:
        bars = client.get(api + "/progress")["progress"]
        ok = bars["images_total"] >= expected and bars["images_processed"] >= expected
        return bars if ok else None

    bars = wait_for(processed, args.process_timeout, f"{category} processed", every=1.0)
    to_processed = time.monotonic() - created_at
    faces = all_faces(client, project["id"])
    centroid = fs.encodings[fs.face_person == slug].mean(axis=0)
    truth = build_truth(faces, catalog, faces_dir, slug, centroid, groups_listing(faces_dir))
    outcome = Outcome(person.name, kind, bars["images_total"], len(faces), truth.targets,
                      truth.excluded, to_processed)
    labeller = Labeller(client, project["id"], truth, outcome, args.pause)
    labeller.verbose = args.trace
    labeller.run(args.label_timeout, args.settle)
    return outcome


# --- report ---------------------------------------------------------------------------------

def fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


COLUMNS = ("singles", "pages", "clicked_out", "actions", "correct_yes", "wrong_yes", "targets",
           "found_at_done", "actions_per_stmt", "actions_per_face", "to_processed_s",
           "answer_to_done_s", "answer_to_stop_s", "retrain_lag_s")


def row(o: Outcome) -> dict[str, float | None]:
    lags = retrain_lags(o)
    return {"singles": o.singles, "pages": o.pages, "clicked_out": o.clicked_out,
            "actions": o.actions, "correct_yes": o.correct_yes, "wrong_yes": o.wrong_yes,
            "targets": o.targets, "found_at_done": o.found_at_done,
            "actions_per_stmt": o.actions / o.correct_yes if o.correct_yes else None,
            "actions_per_face": o.actions / o.faces if o.faces else None,
            "to_processed_s": o.to_processed, "answer_to_done_s": o.answer_to_done,
            "answer_to_stop_s": o.answer_to_stop,
            "retrain_lag_s": statistics.median(lags) if lags else None}


def report(outcomes: list[Outcome]) -> None:
    for kind in dict.fromkeys(o.kind for o in outcomes):
        chosen = [o for o in outcomes if o.kind == kind]
        print(f"\n{kind}: person (images, faces, targets, excluded) -> stopped by")
        for o in chosen:
            print(f"  {o.person} ({o.images}, {o.faces}, {o.targets}, {o.excluded}) -> "
                  f"{o.stopped_by}")
        print("  " + " ".join(f"{c:>16s}" for c in ("person", *COLUMNS)))
        rows = [row(o) for o in chosen]
        for o, r in zip(chosen, rows, strict=True):
            print("  " + f"{o.person[:16]:>16s} " + " ".join(f"{fmt(r[c]):>16s}" for c in COLUMNS))
        med = {c: median([r[c] for r in rows]) for c in COLUMNS}
        print("  " + f"{'median':>16s} " + " ".join(f"{fmt(med[c]):>16s}" for c in COLUMNS))
        if med["actions_per_stmt"]:
            print(f"  actions per correct statement vs one question per found face (1.0): "
                  f"{med['actions_per_stmt']:.2f}; vs one question per face in the category: "
                  f"{fmt(med['actions_per_face'])} of the faces asked")


# --- main -----------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "faces")
    ap.add_argument("--people", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kinds", default="own,mixed", help="own, mixed or both (comma-separated)")
    ap.add_argument("--pause", type=float, default=1.5, help="seconds after every answer")
    ap.add_argument("--settle", type=float, default=30.0,
                    help="seconds to wait, once done, for a model run newer than the last answer")
    ap.add_argument("--process-timeout", type=float, default=900.0)
    ap.add_argument("--label-timeout", type=float, default=900.0)
    ap.add_argument("--database-url", help="default: SQLite in the temporary data dir")
    ap.add_argument("--trace", action="store_true", help="print every answer")
    ap.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    ap.add_argument("--cache", type=Path, default=Path(__file__).parent / ".cache",
                    help="folder for the cached encodings of the faces folder")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    faces_dir = args.faces.resolve()
    people = sorted(random.Random(args.seed).sample(eligible_people(faces_dir), args.people))
    kinds = [k for k in args.kinds.split(",") if k]
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}; people: "
          f"{', '.join(people)}; kinds: {', '.join(kinds)}; pause {args.pause} s")
    fs = face_dataset.load(faces_dir, args.cache)
    workdir = Path(tempfile.mkdtemp(prefix="likeness-labeller-"))
    catalog = build_from_faces(faces_dir, workdir / "catalog")
    standin = StandIn(catalog).start()
    tool = None
    outcomes: list[Outcome] = []
    try:
        env = standin.env()
        if args.database_url:
            env["TOOL_DATABASE__URL"] = args.database_url
        tool = start_tool(env, workdir)
        standin.set_next_user(USER)
        client = Client(tool.base)
        assert client.login() == USER
        for slug in people:
            for kind in kinds:
                outcome = run_project(client, catalog, faces_dir, fs, slug, kind, args)
                outcomes.append(outcome)
                r = row(outcome)
                print(f"{outcome.person} / {kind}: {outcome.actions} actions, "
                      f"{outcome.correct_yes}/{outcome.targets} found, wrong yes "
                      f"{outcome.wrong_yes}, stopped by {outcome.stopped_by}, processed in "
                      f"{outcome.to_processed:.0f} s, labelled in "
                      f"{outcome.answer_to_stop:.0f} s, retrain lag {fmt(r['retrain_lag_s'])} s",
                      flush=True)
    finally:
        if tool:
            tool.stop()
        standin.stop()
        print(f"data dir and logs: {workdir}" + ("" if args.keep else " (removed)"))
        if not args.keep:
            import shutil
            shutil.rmtree(workdir, ignore_errors=True)
    report(outcomes)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
