"""Active learning vs WikiVisage's centroid baseline, with a simulated labeller.

    .venv/bin/python bench/active_learning.py --faces ../shared/faces [--seed 1] [--batch 3]

For each target person a category is built from the whole faces folder: the target's photos,
every other person's photos, the group photos and the photos without faces. A simulated
labeller answers every question from ground truth. Ground truth for group photos: a face is the
target if GROUPS.tsv lists the target on that photo and it is the face closest to the centroid
of the target's single-person photos, or (unless --strict-groups) if its median distance to
the target's photos is under 0.35 although GROUPS.tsv does not name anyone (this happens once:
deepface_couple.jpg shows deepface_person_a); every other group face is not the target.

Two kinds of category per target: "mixed" (the whole folder: the target is about 3 % of the
faces, like an event category) and "own" (only the images with a face of the target, like the
person's own category). Methods, run on the same category in the same process:
  baseline  random order, centroid of the human positives, distance < 0.6, one per image,
            proposals only after 5 positives (WikiVisage; no grid)
  ours      the item's P18 image (one of the target's photos, chosen at random) is a seed shown
            first; then the queue's order (uncertainty first, 10 % random), retrained every
            --batch answers; whenever at least GRID_MIN faces are likely (stored score >=
            min(threshold, LIKELY)), a grid of up to GRID_SIZE of them: one action to confirm
            the page plus one per face clicked out; it stops when the model says "done"

What a method "would send" = faces a human confirmed + its current proposals. Reported per
person and for two fixed halves of the people (constants were chosen on half A): single-face
answers until that set reaches precision >= 0.98 and recall >= 0.90, all actions until then,
human actions per correct statement (answers + grid clicks + a final review of what is still
proposed, pages of 24, one click per page and per wrong face), the lowest precision of what
it would send at any point, the largest fall in its recall between checks or from one answer
alone, and whether the tool said "done" (and how many targets it had missed then). Then how
the precision estimate compares with the truth, and the time to score 1,000,000 random float32
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
GRID_SIZE = 12     # faces per "Are these all <label>?" page in the classify page
GRID_MIN = 3       # proposals needed before the classify page shows a grid
REVIEW_PAGE = 24   # faces per review page (likeness.db.review.PAGE_SIZE)


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


def own_category(mixed: Category) -> Category:
    """The person's own category: only the images with a face of the target (their photos and
    the group photos they are on), with every face of those images."""
    keep = np.isin(mixed.image_ids, mixed.image_ids[mixed.truth])
    return Category(mixed.target, mixed.encodings[keep], mixed.image_ids[keep],
                    mixed.truth[keep], mixed.single[keep])


@dataclass
class Trace:
    """What would be sent after each step of a simulated session, and what it cost."""

    answers: list[int]          # single-face answers so far
    actions: list[int]          # answers + grid clicks (one per face clicked out, one per page)
    precision: list[float]      # of confirmed + proposed faces (what would be sent)
    recall: list[float]
    proposals: list[int]
    estimate: list[float | None]
    proposal_precision: list[float | None]
    done: list[bool]
    audit: dict | None = None
    n_targets: int = 0
    single_drop: float = 0.0    # largest fall in recall that one answer alone would cause
    sent_correct: int = 0       # correct statements after the session and a final review
    total_actions: int = 0      # every action of the session and its final review

    def first_reaching(self, cost: list[int] | None = None) -> int | None:
        for n, p, r in zip(cost or self.answers, self.precision, self.recall, strict=True):
            if p >= GOAL_PRECISION and r >= GOAL_RECALL:
                return n
        return None

    def at(self, n: int) -> tuple[float, float]:
        """Precision and recall at the last check with at most n answers."""
        i = max(j for j, a in enumerate(self.answers) if a <= n)
        return self.precision[i], self.recall[i]

    def worst_recall_drop(self) -> float:
        """Largest fall in recall of what would be sent from one check to the next, or that
        one answer alone would cause."""
        r = np.asarray(self.recall)
        steps = float((r[:-1] - r[1:]).max()) if len(r) > 1 else 0.0
        return max(0.0, steps, self.single_drop)

    def actions_per_statement(self) -> float:
        return self.total_actions / max(self.sent_correct, 1)


def measure(cat: Category, labels: np.ndarray, proposed: np.ndarray) -> tuple[float, float]:
    sent = (labels == model_run.YES) | proposed
    tp = int((sent & cat.truth).sum())
    precision = tp / int(sent.sum()) if sent.any() else 1.0
    return precision, tp / int(cat.truth.sum())


def by_priority(priority: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """The first k faces of the queue, as the database reads it (NaN = labelled, never)."""
    order = np.argsort(priority, kind="stable")
    order = order[~np.isnan(priority[order])]
    if allowed is not None:
        order = order[allowed[order]]
    return order[:k]


def review_clicks(cat: Category, faces: np.ndarray) -> int:
    """Final review of proposals in pages of REVIEW_PAGE: one click per page and per wrong face."""
    n = len(faces)
    return -(-n // REVIEW_PAGE) + int((~cat.truth[faces]).sum()) if n else 0


def simulate(cat: Category, method: str, rng: np.random.Generator, batch: int,
             max_answers: int | None = None) -> Trace:
    """A perfect labeller drives a session until the tool says done (or every face is answered).

    ours: answers single questions in the queue's order; whenever the model has at least
    GRID_MIN proposals (or some, and nothing uncertain is left), confirms a grid of up to
    GRID_SIZE of them, clicking out the wrong ones. baseline: random questions (WikiVisage has
    no grid), until what it would send reaches the goal. Both end with a review of what is
    still proposed: only human-confirmed faces are sent.
    """
    n = len(cat.truth)
    limit = n if max_answers is None else min(n, max_answers)
    labels = np.full(n, model_run.UNLABELLED, np.int8)
    trace = Trace([], [], [], [], [], [], [], [], n_targets=int(cat.truth.sum()))
    answered = actions = 0
    seed_mask = np.zeros(n, bool)
    random_asked = np.zeros(n, bool)
    in_grid = np.zeros(n, bool)
    if method == "ours":
        seed_mask[int(rng.choice(np.flatnonzero(cat.single)))] = True

    def record(proposed: np.ndarray, estimate: float | None, done: bool) -> None:
        p, r = measure(cat, labels, proposed)
        trace.answers.append(answered)
        trace.actions.append(actions)
        trace.precision.append(p)
        trace.recall.append(r)
        trace.proposals.append(int(proposed.sum()))
        trace.estimate.append(estimate)
        trace.proposal_precision.append(
            float(cat.truth[proposed].mean()) if proposed.any() else None)
        trace.done.append(done)

    def answer(faces: np.ndarray) -> None:
        labels[faces] = np.where(cat.truth[faces], model_run.YES, model_run.NO)

    proposed = np.zeros(n, bool)
    while answered < limit:
        labelled = labels != model_run.UNLABELLED
        if method == "baseline":
            proposed = baseline.proposals(cat.encodings, cat.image_ids, labelled,
                                          labels == model_run.YES)
            record(proposed, None, False)
            if trace.first_reaching() is not None:
                break
            ask = baseline.select_next(labelled, batch, rng)
        else:
            result = model_run.run(cat.encodings, cat.image_ids, labels, seed_mask=seed_mask,
                                   random_asked=random_asked, fit_mask=~in_grid, rng=rng)
            proposed = result.proposed
            left = result.work_left
            done = left is not None and left.done
            model = result.model
            record(proposed, model.precision_estimate if model else None, done)
            if model is not None:
                trace.audit = model.calibration.get("audit")
            # the grid's faces, as the database selects them (progress.grid_floor)
            floor = min(model.threshold, model_run.LIKELY) if model else 2.0
            likely = ~labelled & (result.stored_scores >= floor)
            n_prop = int(likely.sum())
            if n_prop >= GRID_MIN or (n_prop and done):
                prop = np.flatnonzero(likely)
                grid = prop[np.argsort(-result.scores[prop], kind="stable")][:GRID_SIZE]
                answer(grid)
                in_grid[grid] = True
                actions += 1 + int((~cat.truth[grid]).sum())
                continue
            if done:
                break
            # what the database queue does: ORDER BY priority (unlikely faces left out when done)
            ask = by_priority(result.priority, batch)
            if model is None and not seed_mask.any():
                ask = baseline.select_next(labelled, batch, rng)
                random_asked[ask] = True
            else:
                random_asked[ask] = result.random_pick[ask]
            if not len(ask):
                break
            if model is not None:
                probe_single_answers(cat, labels, ask, result, trace, seed_mask, in_grid)
        answer(ask)
        answered += len(ask)
        actions += len(ask)
    left = np.flatnonzero(proposed & (labels == model_run.UNLABELLED))
    trace.total_actions = actions + review_clicks(cat, left)
    trace.sent_correct = int(((labels == model_run.YES) & cat.truth).sum()
                             + cat.truth[left].sum())
    return trace


def probe_single_answers(cat: Category, labels: np.ndarray, ask: np.ndarray,
                         result: model_run.RunResult, trace: Trace, seed_mask: np.ndarray,
                         in_grid: np.ndarray) -> None:
    """How far each of the next answers alone would lower the recall of what would be sent."""
    before = measure(cat, labels, result.proposed)[1]
    for face in ask:
        alone = labels.copy()
        alone[face] = model_run.YES if cat.truth[face] else model_run.NO
        after = model_run.run(cat.encodings, cat.image_ids, alone, seed_mask=seed_mask,
                              fit_mask=~in_grid, rng=np.random.default_rng(0))
        trace.single_drop = max(trace.single_drop,
                                before - measure(cat, alone, after.proposed)[1])


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


@dataclass
class Outcome:
    """One simulated session of one method on one category, as the summary needs it."""

    need: int | None            # answers until what it would send reaches the goal
    need_actions: int | None    # all actions until then
    min_precision: float
    recall_drop: float
    per_statement: float        # actions per correct statement at the end of the session
    answers: int
    done: bool                  # the tool said "done for now" before the end
    missed_at_done: int         # targets neither confirmed nor proposed when it first said so
    targets: int


def outcome(trace: Trace) -> Outcome:
    first_done = trace.done.index(True) if any(trace.done) else -1
    return Outcome(trace.first_reaching(), trace.first_reaching(trace.actions),
                   min(trace.precision), trace.worst_recall_drop(),
                   trace.actions_per_statement(), trace.answers[-1], any(trace.done),
                   round((1 - trace.recall[first_done]) * trace.n_targets) if any(trace.done)
                   else 0, trace.n_targets)


def split_halves(people: list[str], seed: int) -> tuple[list[str], list[str]]:
    """Two fixed halves of the people: constants are chosen on A, B checks them."""
    shuffled = list(np.random.default_rng([seed, 99]).permutation(people))
    return sorted(shuffled[::2]), sorted(shuffled[1::2])


def summarise(name: str, rows: dict[str, dict[str, Outcome]]) -> None:
    """Median and worst answers to the goal, actions per statement, precision, recall drops."""
    def med(values: list[float]) -> str:
        return f"{np.median(values):.2f}" if values else "-"

    for kind in ("mixed", "own"):
        ours = [r[f"ours/{kind}"] for r in rows.values()]
        base = [r[f"baseline/{kind}"] for r in rows.values()]
        need = [o.need if o.need is not None else 10**6 for o in ours]
        print(f"  {name} {kind:5}: ours answers to goal median {np.median(need):.0f}, worst "
              f"{max(need)} | actions to goal median "
              f"{med([o.need_actions or 10**6 for o in ours])} | actions per correct statement "
              f"median {med([o.per_statement for o in ours])}, worst "
              f"{max(o.per_statement for o in ours):.2f} | lowest precision "
              f"{min(o.min_precision for o in ours):.3f} | largest recall drop "
              f"{max(o.recall_drop for o in ours):.2f} | said done "
              f"{sum(o.done for o in ours)}/{len(ours)}, missing then "
              f"{sum(o.missed_at_done for o in ours)} of {sum(o.targets for o in ours)} targets")
        base_need = [o.need if o.need is not None else o.answers for o in base]
        per_statement = [np.median([o.per_statement for o in m]) for m in (ours, base)]
        print(f"  {name} {kind:5}: baseline answers to goal median {np.median(base_need):.0f}"
              f" | actions per correct statement median {per_statement[1]:.2f}"
              f" | ratio ours/baseline: answers to goal "
              f"{np.median(need) / max(np.median(base_need), 1):.3f}, actions per statement "
              f"{per_statement[0] / per_statement[1]:.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faces", type=Path, required=True, help="the labelled faces folder")
    ap.add_argument("--people", type=int, default=30, help="number of target people")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=3,
                    help="answers between retrainings (the worker retrains within seconds)")
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
    halves = split_halves(targets, args.seed)

    print(f"{'target':26} {'half':4} {'kind':5} {'faces':>5} | ours: need  acts  act/st  minP  "
          f"drop  done | base: need  act/st")
    all_notes: list[str] = []
    est_pairs: list[tuple[float, float]] = []
    rows: dict[str, dict[str, Outcome]] = {}
    for i, target in enumerate(targets):
        mixed, notes = build_category(fs, target, args.strict_groups)
        all_notes += notes
        rows[target] = {}
        for kind, cat in (("mixed", mixed), ("own", own_category(mixed))):
            traces = {m: simulate(cat, m, np.random.default_rng([args.seed, i, j]), args.batch)
                      for j, m in enumerate(("baseline", "ours"))}
            for m, trace in traces.items():
                rows[target][f"{m}/{kind}"] = outcome(trace)
            for e, a in zip(traces["ours"].estimate, traces["ours"].proposal_precision,
                            strict=True):
                if e is not None and a is not None:
                    est_pairs.append((e, a))
            o, b = rows[target][f"ours/{kind}"], rows[target][f"baseline/{kind}"]
            half = "A" if target in halves[0] else "B"
            print(f"{target:26} {half:4} {kind:5} {int(cat.truth.sum()):>5} | "
                  f"{fmt(o.need):>10} {fmt(o.need_actions):>5} {o.per_statement:7.2f} "
                  f"{o.min_precision:5.3f} {o.recall_drop:5.2f} {'yes' if o.done else 'no':>5} | "
                  f"{fmt(b.need):>10} {b.per_statement:7.2f}")

    print()
    for name, half in zip(("half A", "half B"), halves, strict=True):
        summarise(name, {t: rows[t] for t in half})
    summarise("all   ", rows)
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
