"""Per-project threshold and the precision/recall estimate shown to the owner.

The classifier's score is a calibrated probability (see classifier.py), so the expected
precision of a set of proposals is the mean score over it. The threshold is the lowest score
at which the proposals (after the one-per-image rule) are expected to be at least
target-precise, and never lower than the threshold the labelled faces allow (no labelled
negative above it, leave-one-out) nor than 0.5. With fewer than MIN_NEGATIVES human negatives,
every proposal must score at least the target precision on its own.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from likeness.model import constraints
from likeness.model.classifier import Model

FLOOR = 0.5
# Below this many human negatives the scores rest on the generic prior weights, unverified on
# this project: then each proposal must itself score >= the target precision.
MIN_NEGATIVES = 5


def population_threshold(candidate_scores: np.ndarray, target: float) -> float:
    """Lowest t with mean(score | score >= t) >= target over the candidates (>1 if none)."""
    s = np.sort(np.asarray(candidate_scores, np.float64))[::-1]
    if len(s) == 0:
        return 1.0
    cum_mean = np.cumsum(s) / np.arange(1, len(s) + 1)
    ok = np.flatnonzero(cum_mean >= target)
    if len(ok) == 0:
        return float(np.nextafter(np.float32(s[0]), np.float32(2.0)))
    k = int(ok[-1])
    if k + 1 < len(s) and s[k + 1] == s[k]:
        return float(np.nextafter(np.float32(s[k]), np.float32(2.0)))
    return float(s[k])


def calibrate(model: Model, scores: np.ndarray, image_ids: np.ndarray, labelled: np.ndarray,
              confirmed: np.ndarray) -> Model:
    """A copy of model with the project-calibrated threshold and precision/recall estimates.

    scores: model.score() of every face of the project; labelled: faces with any human answer;
    confirmed: faces a human answered yes.
    """
    scores = np.asarray(scores, np.float32)
    cand = constraints.candidates(scores, image_ids, labelled, confirmed)
    t_pop = population_threshold(scores[cand], model.target_precision)
    t_lab = float(model.calibration.get("labelled_threshold", 0.0))
    if model.n_negative < MIN_NEGATIVES:
        t_pop = max(t_pop, model.target_precision)
    threshold = max(t_pop, t_lab, FLOOR)
    proposed = cand & (scores >= threshold)
    n_conf = int(np.count_nonzero(confirmed))
    expected_tp = float(scores[proposed].sum())
    expected_pos = n_conf + float(scores[cand].sum())
    precision = expected_tp / int(proposed.sum()) if proposed.any() else None
    recall = (n_conf + expected_tp) / expected_pos if expected_pos > 0 else None
    calib = dict(model.calibration, population_threshold=t_pop, n_candidates=int(cand.sum()),
                 n_proposed=int(proposed.sum()))
    return dataclasses.replace(
        model, threshold=float(threshold), precision_estimate=precision, recall_estimate=recall,
        estimate_method=(
            "precision: mean calibrated score of the proposals (logistic model on leave-one-out"
            " distance features of the human answers); recall: confirmed + expected positives"
            " among proposals over confirmed + expected positives among all unlabelled faces"
            " (best face per image)"),
        calibration=calib)


def audit(loo_scores: np.ndarray, answers: np.ndarray, threshold: float) -> dict:
    """Check on randomly sampled answers: how many at or above the threshold were right.

    loo_scores: leave-one-out scores of faces the queue picked at random (its random share);
    answers: 1 yes, 0 no. Unbiased but small: shown next to the model's estimate.
    """
    above = np.asarray(loo_scores) >= threshold
    answers = np.asarray(answers)
    n = int(above.sum())
    hits = int(answers[above].sum())
    return {"n_random_above": n, "n_random_yes_above": hits,
            "precision": hits / n if n else None}
