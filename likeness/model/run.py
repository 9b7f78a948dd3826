"""One model run over a project: train on human answers, score every face, calibrate, propose.

This is what the worker calls after new answers arrive; the database side loads the arrays,
calls run(), and writes back scores, priorities and a model_runs row (see __init__.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from likeness.model import calibration, classifier, constraints, queue
from likeness.model.classifier import Model
from likeness.model.encodings import as_matrix

# Face labels as the arrays carry them (faces.label: yes | no | not_face | NULL).
UNLABELLED, NO, YES, NOT_FACE = -1, 0, 1, 2


@dataclass
class RunResult:
    model: Model
    scores: np.ndarray      # (N,) float32, every face (labelled ones too)
    proposed: np.ndarray    # (N,) bool: unlabelled faces the model proposes as the target
    priority: np.ndarray    # (N,) float32 queue key, lower first; +inf for labelled faces
    duration_ms: int


def labels_from_strings(values: list[str | None]) -> np.ndarray:
    """faces.label column values -> int8 codes."""
    codes = {None: UNLABELLED, "yes": YES, "no": NO, "not_face": NOT_FACE}
    try:
        return np.array([codes[v] for v in values], np.int8)
    except KeyError as exc:
        raise ValueError(f"unknown face label {exc.args[0]!r}") from exc


def run(encodings: np.ndarray, image_ids: np.ndarray, labels: np.ndarray,
        prior: np.ndarray | None = None, *,
        target_precision: float = classifier.DEFAULT_TARGET_PRECISION) -> RunResult | None:
    """Train, score, calibrate and propose; None while there is no positive to learn from.

    labels: int8 per face (UNLABELLED, NO, YES, NOT_FACE). Not-a-face answers train nothing
    but are never asked or proposed again. Provisional seeds are UNLABELLED until confirmed.
    """
    start = time.perf_counter()
    x = as_matrix(encodings)
    image_ids = np.asarray(image_ids)
    labels = np.asarray(labels, np.int8)
    if not (len(x) == len(image_ids) == len(labels)):
        raise ValueError("encodings, image_ids and labels must have the same length")
    if not np.isin(labels, (UNLABELLED, NO, YES, NOT_FACE)).all():
        raise ValueError("labels must be UNLABELLED, NO, YES or NOT_FACE")
    yes, no = labels == YES, labels == NO
    prior_m = as_matrix(prior)
    if not yes.any() and len(prior_m) == 0:
        return None
    model = classifier.train(x[yes], x[no], prior_m, target_precision=target_precision)
    scores = model.score(x)
    labelled = labels != UNLABELLED
    model = calibration.calibrate(model, scores, image_ids, labelled, yes)
    proposed = constraints.proposals(scores, image_ids, model.threshold, labelled, yes)
    prio = queue.priority(scores, model.threshold)
    prio[labelled] = np.inf
    return RunResult(model=model, scores=scores, proposed=proposed, priority=prio,
                     duration_ms=int((time.perf_counter() - start) * 1000))
