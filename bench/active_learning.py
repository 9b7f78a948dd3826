"""Active learning vs WikiVisage's centroid baseline, with a simulated labeller.

    .venv/bin/python bench/active_learning.py --faces ../shared/faces [--people 12] [--seed 1]

For each target person a category is built from the whole faces folder: the target's photos,
every other person's photos, the group photos and the photos without faces. A simulated
labeller answers every question from ground truth. Ground truth for group photos: a face is the
target if GROUPS.tsv lists the target on that photo and it is the face closest to the centroid
of the target's single-person photos, or (unless --strict-groups) if its median distance to
the target's photos is under 0.35 although GROUPS.tsv does not name anyone (this happens once:
deepface_couple.jpg shows deepface_person_a); every other group face is not the target.

Methods, run on the same category in the same process:
  baseline  random order, centroid of the human positives, distance < 0.6, one per image,
            proposals only after 5 positives (WikiVisage)
  ours      the item's P18 image (one of the target's photos, chosen at random) is a seed shown
            first; then uncertainty-first batches with a 10% random share, retrained after each
            batch; proposals above the calibrated threshold (target precision 0.99)
  ours-noseed  the same without a seed (random questions until the first yes)

What a method "would send" after n answers = faces a human confirmed + its current proposals.
Reported per person: answers until that set reaches precision >= 0.98 and recall >= 0.90
(checked after every batch), precision and recall after 30 answers, and the lowest precision
of what it would send at any point (minP). Then the median ratio ours/baseline, how the
precision estimate compares with the truth, and the time to score 1,000,000 random float32
encodings vs a plain numpy centroid distance.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import face_dataset  # noqa: E402
from likeness.model import baseline, classifier  # noqa: E402
from likeness.model import run as model_run  # noqa: E402

GOAL_PRECISION, GOAL_RECALL = 0.98, 0.90
BUDGET = 30
SEND_PRECISION = 0.99


@dataclass
class Category:
    target: str
    encodings: np.ndarray
    image_ids: np.ndarray
    truth: np.ndarray          # (N,) bool: face is the target
    single: np.ndarray         # (N,) bool: face from a single-person photo of the target


# An unlisted group face this close (median over the target's single photos) is the target:
# different people's pairs are never that close here (0.1st percentile 0.55).
UNLISTED_MATCH = 0.35


def build_category(fs: face_dataset.FaceSet, target: str,
                   strict_groups: bool = False) -> tuple[Category, list[str]]:
    """The simulated category for one target, and notes on ground-truth corrections."""
    truth = fs.face_person == target
    single = truth.copy()
    centroid = fs.encodings[truth].mean(axis=0)
    notes = []
    for img in np.flatnonzero(fs.image_kind == "groups"):
        faces = np.flatnonzero(fs.face_image == img)
        if not len(faces):
            continue
        if target in fs.image_people[img].split(";"):
            d = np.linalg.norm(fs.encodings[faces] - centroid, axis=1)
            truth[faces[np.argmin(d)]] = True
        elif not strict_groups:
            for f in faces:
                med = np.median(np.linalg.norm(fs.encodings[single] - fs.encodings[f], axis=1))
                if med < UNLISTED_MATCH:
                    truth[f] = True
                    notes.append(f"{fs.images[img]} face {f}: not in GROUPS.tsv but median "
                                 f"distance {med:.3f} to {target}'s photos: counted as {target}")
    return Category(target, fs.encodings, fs.face_image, truth, single), notes


@dataclass
class Trace:
    answers: list[int]
    precision: list[float]
    recall: list[float]
    proposals: list[int]
    estimate: list[float | None]
    proposal_precision: list[float | None]
    audit: dict | None = None

    def first_reaching(self) -> int | None:
        for n, p, r in zip(self.answers, self.precision, self.recall, strict=True):
            if p >= GOAL_PRECISION and r >= GOAL_RECALL:
                return n
        return None

    def at(self, n: int) -> tuple[float, float]:
        """Precision and recall at the last check with at most n answers."""
        i = max(j for j, a in enumerate(self.answers) if a <= n)
        return self.precision[i], self.recall[i]


def measure(cat: Category, labels: np.ndarray, proposed: np.ndarray) -> tuple[float, float]:
    sent = (labels == model_run.YES) | proposed
    tp = int((sent & cat.truth).sum())
    precision = tp / int(sent.sum()) if sent.any() else 1.0
    return precision, tp / int(cat.truth.sum())


def by_priority(priority: np.ndarray, k: int) -> np.ndarray:
    """The first k faces of the queue, as the database reads it (NaN = labelled, never)."""
    order = np.argsort(priority, kind="stable")
    return order[~np.isnan(priority[order])][:k]


def simulate(cat: Category, method: str, rng: np.random.Generator, batch: int,
             max_answers: int | None = None) -> Trace:
    """Answer questions from ground truth until every face is labelled (or max_answers)."""
    n = len(cat.truth)
    limit = n if max_answers is None else min(n, max_answers)
    labels = np.full(n, model_run.UNLABELLED, np.int8)
    trace = Trace([], [], [], [], [], [])
    answered = 0
    seed_face = None
    seed_mask = np.zeros(n, bool)
    random_asked = np.zeros(n, bool)
    if method == "ours":
        seed_face = int(rng.choice(np.flatnonzero(cat.single)))
        seed_mask[seed_face] = True

    def record(proposed: np.ndarray, estimate: float | None) -> None:
        p, r = measure(cat, labels, proposed)
        trace.answers.append(answered)
        trace.precision.append(p)
        trace.recall.append(r)
        trace.proposals.append(int(proposed.sum()))
        trace.estimate.append(estimate)
        trace.proposal_precision.append(
            float(cat.truth[proposed].mean()) if proposed.any() else None)

    while answered < limit:
        labelled = labels != model_run.UNLABELLED
        confirmed = labels == model_run.YES
        if method == "baseline":
            proposed = baseline.proposals(cat.encodings, cat.image_ids, labelled, confirmed)
            record(proposed, None)
            ask = baseline.select_next(labelled, batch, rng)
        else:
            result = model_run.run(cat.encodings, cat.image_ids, labels, seed_mask=seed_mask,
                                   random_asked=random_asked, rng=rng)
            if result.model is None:
                record(result.proposed, None)
                if seed_face is not None:  # the product's cold-start order: seed, then nearest
                    ask = by_priority(result.priority, batch)
                else:
                    ask = baseline.select_next(labelled, batch, rng)
                    random_asked[ask] = True
            else:
                record(result.proposed, result.model.precision_estimate)
                # what the database queue does: ORDER BY priority
                ask = by_priority(result.priority, batch)
                random_asked[ask] = result.random_pick[ask]
                trace.audit = result.model.calibration.get("audit")
        for i in ask:
            labels[i] = model_run.YES if cat.truth[i] else model_run.NO
        answered += len(ask)
    if answered >= n:
        record(np.zeros(n, bool), None)
    return trace


def time_scoring(cat: Category, repeats: int = 3) -> tuple[float, float, int]:
    """Seconds to score 1M random encodings with a model vs a numpy centroid distance."""
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 0.09, (1_000_000, 128)).astype(np.float32)
    # worst case for the model: the most references it ever keeps
    pos = cat.encodings[cat.truth]
    neg = cat.encodings[~cat.truth]
    pos = np.concatenate([pos] * (classifier.MAX_POSITIVE_REFS // len(pos) + 1))
    pos = pos + rng.normal(0, 0.01, pos.shape).astype(np.float32)
    model = classifier.train(pos[:1000], neg)
    c = pos.mean(axis=0)
    t_model, t_base = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        s = model.score(x)
        t_model.append(time.perf_counter() - t)
        t = time.perf_counter()
        d = np.linalg.norm(x - c, axis=1)
        t_base.append(time.perf_counter() - t)
    assert len(s) == len(d) == len(x)
    n_refs = len(model.pos_refs) + len(model.neg_refs)
    return min(t_model), min(t_base), n_refs


def time_full_run(cat: Category) -> tuple[float, int]:
    """Seconds for one run.run() (train, score, calibrate, queue) over 1M faces, 1,000 labels."""
    rng = np.random.default_rng(1)
    reps = 1_000_000 // len(cat.encodings) + 1
    x = np.tile(cat.encodings, (reps, 1))[:1_000_000]
    x += rng.normal(0.0, 0.005, (1, 128)).astype(np.float32)  # keep it cheap: one shift
    truth = np.tile(cat.truth, reps)[:1_000_000]
    images = np.arange(len(x)) // 2
    labels = np.full(len(x), model_run.UNLABELLED, np.int8)
    asked = rng.choice(len(x), 1000, replace=False)
    labels[asked] = np.where(truth[asked], model_run.YES, model_run.NO)
    t = time.perf_counter()
    result = model_run.run(x, images, labels, rng=rng)
    elapsed = time.perf_counter() - t
    return elapsed, int(result.proposed.sum())


def fmt(n: int | None) -> str:
    return "never" if n is None else str(n)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faces", type=Path, required=True, help="the labelled faces folder")
    ap.add_argument("--people", type=int, default=12, help="number of target people (>= 10)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=5, help="answers between retrainings")
    ap.add_argument("--cache", type=Path, default=Path(__file__).parent / ".cache",
                    help="folder for the cached encodings")
    ap.add_argument("--min-photos", type=int, default=10,
                    help="only people with at least this many single photos are targets")
    ap.add_argument("--strict-groups", action="store_true",
                    help="group faces are the target only where GROUPS.tsv lists the target")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    fs = face_dataset.load(args.faces, args.cache)
    print(f"{len(fs.encodings)} faces on {len(fs.images)} images "
          f"({time.perf_counter() - t0:.1f} s to load or encode)")
    counts = {p: int((fs.face_person == p).sum()) for p in fs.people}
    eligible = sorted(p for p, c in counts.items() if c >= args.min_photos)
    rng = np.random.default_rng(args.seed)
    targets = sorted(rng.choice(eligible, size=min(args.people, len(eligible)), replace=False))

    methods = ("baseline", "ours", "ours-noseed")
    head = (f"{'target':26} {'faces':>5} | " + " | ".join(
        f"{m:>11}: need  P@30  R@30" for m in methods) + " | minP base  ours")
    print(head)
    all_notes: list[str] = []
    est_pairs: list[tuple[float, float]] = []
    ratios, ratios_noseed, ours_min_p, ours_p30, base_p30 = [], [], [], [], []
    for target in targets:
        cat, notes = build_category(fs, target, args.strict_groups)
        all_notes += notes
        traces = {m: simulate(cat, m, np.random.default_rng([args.seed, i]), args.batch)
                  for i, m in enumerate(methods)}
        cells = []
        for m in methods:
            p30, r30 = traces[m].at(BUDGET)
            cells.append(f"{'':>11}  {fmt(traces[m].first_reaching()):>4}  {p30:.2f}  {r30:.2f}")
        ours = traces["ours"]
        min_p = min(ours.precision)
        min_base = min(traces["baseline"].precision)
        for e, a in zip(ours.estimate, ours.proposal_precision, strict=True):
            if e is not None and a is not None:
                est_pairs.append((e, a))
        print(f"{target:26} {int(cat.truth.sum()):>5} | " + " | ".join(cells)
              + f" | {min_base:9.3f} {min_p:5.3f}")
        nb, no, nn = (traces[m].first_reaching() or len(cat.truth) for m in methods)
        ratios.append(no / nb)
        ratios_noseed.append(nn / nb)
        ours_min_p.append(min_p)
        ours_p30.append(ours.at(BUDGET)[0])
        base_p30.append(traces["baseline"].at(BUDGET)[0])

    print()
    print(f"median answers ratio ours/baseline:        {np.median(ratios):.3f} "
          f"(target <= 0.5; {sum(r <= 0.5 for r in ratios)}/{len(ratios)} people)")
    print(f"median answers ratio ours-noseed/baseline: {np.median(ratios_noseed):.3f}")
    print(f"ours: median precision of what it would send after {BUDGET} answers "
          f"{np.median(ours_p30):.3f}; lowest at any point {min(ours_min_p):.3f} "
          f"(target >= {SEND_PRECISION}; {sum(p >= SEND_PRECISION for p in ours_min_p)}"
          f"/{len(ours_min_p)} people never below)")
    print(f"baseline: median precision after {BUDGET} answers {np.median(base_p30):.3f}")
    if est_pairs:
        e, a = np.array(est_pairs).T
        print(f"ours: precision estimate vs actual precision of the proposals over "
              f"{len(e)} checks with proposals: mean estimate {e.mean():.4f}, mean actual "
              f"{a.mean():.4f}, actual below estimate - 0.02 in {(a < e - 0.02).sum()} checks")

    for note in all_notes:
        print("ground truth:", note)
    t_model, t_base, n_refs = time_scoring(build_category(fs, targets[0])[0])
    print(f"scoring 1,000,000 faces: model {t_model:.3f} s ({n_refs} reference encodings), "
          f"numpy centroid distance {t_base:.3f} s, ratio {t_model / t_base:.2f}")
    t_run, n_prop = time_full_run(build_category(fs, targets[0])[0])
    print(f"one full model run over 1,000,000 faces with 1,000 answers (train, score, calibrate, "
          f"one-per-image, queue order): {t_run:.2f} s ({n_prop} proposals)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
