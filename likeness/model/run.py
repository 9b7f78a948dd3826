"""One model run over a project: train on human answers, score every face, calibrate, propose.

This is what the worker calls after new answers arrive; the database side loads the arrays,
calls run(), and writes back scores, priorities and a model_runs row (see __init__.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from likeness.model import calibration, classifier, constraints, queue, stop
from likeness.model.classifier import Model
from likeness.model.encodings import as_matrix

# Face labels as the arrays carry them (faces.label: yes | no | not_face | NULL).
UNLABELLED, NO, YES, NOT_FACE = -1, 0, 1, 2
# Faces scoring at least this (best of their image, no confirmed target there) are likely
# enough to show in the classify page's confirmation grid: one click per wrong face is far
# cheaper than one question per face. In the benchmark's sweep 0.7-0.8 did best (README).
LIKELY = 0.8


@dataclass
class RunResult:
    model: Model | None     # None while there is no positive to learn from (cold start)
    scores: np.ndarray      # (N,) float32 model scores of every face; NaN without a model
    stored_scores: np.ndarray  # (N,) float32 for faces.score: like scores, but a face the
    #                          one-per-image rule suppresses is capped just below LIKELY, so
    #                          "unlabelled and score >= threshold" selects exactly `proposed`
    #                          and "unlabelled and score >= LIKELY" the grid's faces
    proposed: np.ndarray    # (N,) bool: unlabelled faces the model proposes as the target
    priority: np.ndarray    # (N,) float32 queue rank, lower first; NaN for labelled faces
    random_pick: np.ndarray  # (N,) bool: faces placed in the queue as its random share
    loo_scores: np.ndarray  # (N,) float32 leave-one-out scores of yes/no faces; NaN otherwise
    duration_ms: int
    work_left: stop.StopEstimate | None = None  # what is left to find (None without a model)


def labels_from_strings(values: list[str | None]) -> np.ndarray:
    """faces.label column values -> int8 codes."""
    codes = {None: UNLABELLED, "yes": YES, "no": NO, "not_face": NOT_FACE}
    try:
        return np.array([codes[v] for v in values], np.int8)
    except KeyError as exc:
        raise ValueError(f"unknown face label {exc.args[0]!r}") from exc


def nullable(values: np.ndarray) -> list[float | None]:
    """Floats for the database: NaN becomes None (SQL NULL; MariaDB has no NaN/inf)."""
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, np.float64)]


def run(encodings: np.ndarray, image_ids: np.ndarray, labels: np.ndarray,
        prior: np.ndarray | None = None, *, seed_mask: np.ndarray | None = None,
        random_asked: np.ndarray | None = None, fit_mask: np.ndarray | None = None,
        random_share: float = 0.1,
        rng: np.random.Generator | None = None,
        target_precision: float = classifier.DEFAULT_TARGET_PRECISION) -> RunResult:
    """Train on the human answers, score every face, calibrate, propose, order the queue.

    labels: int8 per face (UNLABELLED, NO, YES, NOT_FACE). Not-a-face answers train nothing
    but are never asked or proposed again. seed_mask: provisional positives (faces of the P18
    image, faces on files already carrying P180 = the item); they stay UNLABELLED, train
    nothing and are asked first until a human answers them. prior: human-confirmed encodings
    of the same Q-id from other opted-in projects. random_asked: labelled faces the queue
    picked at random (its random share), for the unbiased audit of the precision estimate.
    fit_mask: answered faces whose answers fit the weights (default all): leave out answers
    given to proposals (grid, review), chosen for their high score (see classifier.train).
    The priority is a rank: ORDER BY priority gives seeds, then spread-out uncertain faces
    (one per image, no near-duplicates) with random_share of random faces among them.
    Without any positive (own or shared) there is no model: the queue then asks seeds first
    and the faces nearest to them (cold start).
    """
    start = time.perf_counter()
    x = as_matrix(encodings)
    image_ids = np.asarray(image_ids)
    labels = np.asarray(labels, np.int8)
    n = len(x)
    if not (n == len(image_ids) == len(labels)):
        raise ValueError("encodings, image_ids and labels must have the same length")
    if not np.isin(labels, (UNLABELLED, NO, YES, NOT_FACE)).all():
        raise ValueError("labels must be UNLABELLED, NO, YES or NOT_FACE")
    seeds = np.zeros(n, bool) if seed_mask is None else np.asarray(seed_mask, bool)
    if len(seeds) != n:
        raise ValueError("seed_mask must have one entry per face")
    yes, no = labels == YES, labels == NO
    labelled = labels != UNLABELLED
    prior_m = as_matrix(prior)
    nan = np.full(n, np.nan, np.float32)
    if not yes.any() and len(prior_m) == 0:
        return RunResult(model=None, scores=nan, stored_scores=nan.copy(),
                         proposed=np.zeros(n, bool), priority=_cold_priority(x, seeds, labelled),
                         random_pick=np.zeros(n, bool), loo_scores=nan.copy(),
                         duration_ms=_ms(start))
    fit = None if fit_mask is None else np.asarray(fit_mask, bool)
    model = classifier.train(x[yes], x[no], prior_m, target_precision=target_precision,
                             fit=None if fit is None else np.concatenate([fit[yes], fit[no]]))
    scores = model.score(x)
    model = calibration.calibrate(model, scores, image_ids, labelled, yes)
    candidates = constraints.candidates(scores, image_ids, labelled, yes)
    proposed = candidates & (scores >= model.threshold)
    left = stop.estimate(scores, candidates, model.threshold)
    loo = nan.copy()
    loo[yes], loo[no] = classifier.loo_scores(model, x[yes], x[no])
    if random_asked is not None:
        audited = np.asarray(random_asked, bool) & (yes | no)
        model.calibration["audit"] = calibration.audit(loo[audited], yes[audited],
                                                       model.threshold)
    stored = scores.copy()
    cap = min(model.threshold, LIKELY)
    suppressed = ~labelled & ~candidates & (scores >= cap)
    stored[suppressed] = np.nextafter(np.float32(cap), np.float32(0.0))
    rng = np.random.default_rng() if rng is None else rng
    order, is_random = queue.queue_order(scores, image_ids, x, labelled, model.threshold, rng,
                                         random_share, seed_mask=seeds)
    prio = np.full(n, np.nan, np.float32)
    prio[order] = np.arange(len(order), dtype=np.float32)
    random_pick = np.zeros(n, bool)
    random_pick[order[is_random]] = True
    return RunResult(model=model, scores=scores, stored_scores=stored, proposed=proposed,
                     priority=prio, random_pick=random_pick, loo_scores=loo,
                     duration_ms=_ms(start), work_left=left)


def _cold_priority(x: np.ndarray, seeds: np.ndarray, labelled: np.ndarray) -> np.ndarray:
    """Before any model: rank in queue.cold_start_order (seeds, then nearest to a seed)."""
    prio = np.full(len(x), np.nan, np.float32)
    order = queue.cold_start_order(x[seeds], x, seeds, labelled)
    prio[order] = np.arange(len(order), dtype=np.float32)
    return prio


def _ms(start: float) -> int:
    return int((time.perf_counter() - start) * 1000)
