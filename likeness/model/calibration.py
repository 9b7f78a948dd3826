"""The proposal threshold and the precision/recall estimates shown to the owner.

The classifier's score is a calibrated probability (see classifier.py). A face is proposed when
its own score reaches the target precision (0.995 by default): each proposal on its own, not on
average, so a confident majority can never carry a doubtful tail into what the reviewer is told
is 99.5 % right. Doubtful but likely faces go to the classify page's confirmation grid instead,
where a person checks each one (run.LIKELY). The threshold depends on no single answer: answers
move the weights only through the regularised fit, so one "no" far from the decision cannot
make the proposals collapse.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from likeness.model import constraints
from likeness.model.classifier import Model


def calibrate(model: Model, scores: np.ndarray, image_ids: np.ndarray, labelled: np.ndarray,
              confirmed: np.ndarray) -> Model:
    """A copy of model with the threshold and the precision and recall estimates.

    scores: model.score() of every face of the project; labelled: faces with any human answer;
    confirmed: faces a human answered yes.
    """
    scores = np.asarray(scores, np.float32)
    cand = constraints.candidates(scores, image_ids, labelled, confirmed)
    threshold = float(model.target_precision)
    proposed = cand & (scores >= threshold)
    n_conf = int(np.count_nonzero(confirmed))
    expected_tp = float(scores[proposed].sum())
    expected_pos = n_conf + float(scores[cand].sum())
    precision = expected_tp / int(proposed.sum()) if proposed.any() else None
    recall = (n_conf + expected_tp) / expected_pos if expected_pos > 0 else None
    calib = dict(model.calibration, n_candidates=int(cand.sum()),
                 n_proposed=int(proposed.sum()))
    return dataclasses.replace(
        model, threshold=threshold, precision_estimate=precision, recall_estimate=recall,
        estimate_method=(
            "precision: mean calibrated score of the proposals (each scores at least the target"
            " precision; logistic model on leave-one-out distance features of the classify"
            " answers, regularised towards generic weights); recall: confirmed + expected"
            " positives among proposals over confirmed + expected positives among all"
            " unlabelled faces (best face per image)"),
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
