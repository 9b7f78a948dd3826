"""The classifier: is this face the project's target person?

Trained on human answers only (confirmed positives and negatives), plus optional shared
positives of the same Q-id from other opted-in projects (the "prior", worth a little less).
There is deliberately no parameter for the model's own proposals: they can never train it.

Features of a face x, both distances in dlib's 128-D space:
  d_pos = distance to the nearest positive (own; or shared + PRIOR_PENALTY)
  margin = clip(d_neg - d_pos, -0.15, 0.15), d_neg the nearest negative (none: +0.15)
Score = sigmoid(w0 + w1 * (0.5 - d_pos) * 10 + w2 * margin * 10): a three-weight logistic
model, fitted by penalised maximum likelihood towards generic weights (PRIOR_WEIGHTS: dlib
faces closer than about 0.5 are usually the same person), on leave-one-out features of the
labelled faces (each labelled face's features computed without itself, as an unlabelled face
would see them). Questions are chosen by their features, not their answers, so the fitted
P(target | features) stays unbiased under uncertainty sampling; answers given to proposals
(grid, review) are references but do not fit the weights (see train). The score is a
calibrated probability, which is what the threshold and the precision estimate use.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from likeness.model import distances
from likeness.model.encodings import as_matrix

# Generic weights, fitted (bench/active_learning.py's categories) on one half of the people in
# ../shared/faces and checked on the other: logit 4.9 at d_pos 0.4 with no negative near,
# 0.9 at 0.5, -3.2 at 0.6.
PRIOR_WEIGHTS = np.array([-1.15, 4.05, 1.35])
PRIOR_STRENGTH = 2.0    # L2 pull towards PRIOR_WEIGHTS, in units of one labelled face
PRIOR_PENALTY = 0.05    # a shared positive counts as if it were this much farther away
# A negative matters only when about as near as the nearest positive: farther than this
# beyond it, it changes nothing (one "no" far from a face cannot demote it).
MARGIN_CLIP = 0.15
MAX_POSITIVE_REFS = 128  # scoring cost grows with references; beyond these, a spread subset
MAX_NEGATIVE_REFS = 64   # hardest negatives (nearest to a positive) only
DEFAULT_TARGET_PRECISION = 0.995
FORMAT = "likeness-model/1"


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * z))).astype(np.float32)


def design(d_pos: np.ndarray, d_neg: np.ndarray) -> np.ndarray:
    """(n, 3) design matrix [1, (0.5 - d_pos) * 10, margin * 10] from the two distances."""
    d_pos = np.minimum(d_pos, 1.2)  # no positive at all reads as "very far", not infinity
    margin = np.clip(d_neg - d_pos, -MARGIN_CLIP, MARGIN_CLIP)
    margin = np.where(np.isfinite(d_neg), margin, MARGIN_CLIP)
    out = np.empty((len(d_pos), 3), np.float32)
    out[:, 0] = 1.0
    out[:, 1] = (0.5 - d_pos) * 10.0
    out[:, 2] = margin * 10.0
    return out


def fit_logistic(u: np.ndarray, y: np.ndarray, prior: np.ndarray = PRIOR_WEIGHTS,
                 strength: float = PRIOR_STRENGTH, iterations: int = 25) -> np.ndarray:
    """Weights maximising log-likelihood - strength/2 |w - prior|^2 (Newton's method)."""
    w = prior.astype(np.float64).copy()
    u = u.astype(np.float64)
    y = y.astype(np.float64)
    eye = np.eye(len(w))
    for _ in range(iterations):
        p = 0.5 * (1.0 + np.tanh(0.5 * (u @ w)))
        grad = u.T @ (p - y) + strength * (w - prior)
        hess = (u * (p * (1.0 - p))[:, None]).T @ u + strength * eye
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-6:
            break
    return w


@dataclass
class Model:
    """A trained model: reference encodings, three weights and a calibrated threshold."""

    weights: np.ndarray                 # (3,) float64
    pos_refs: np.ndarray                # (P, 128) own confirmed positives used for scoring
    neg_refs: np.ndarray                # (Q, 128) hardest confirmed negatives
    prior_refs: np.ndarray              # (S, 128) shared positives from other projects
    threshold: float                    # propose a face when score >= threshold
    target_precision: float = DEFAULT_TARGET_PRECISION
    n_positive: int = 0
    n_negative: int = 0
    n_shared: int = 0
    precision_estimate: float | None = None
    recall_estimate: float | None = None
    estimate_method: str = ""
    calibration: dict = field(default_factory=dict)

    def distances(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(d_pos, d_neg) for each row of x."""
        x = as_matrix(x)
        d_pos, d_prior, d_neg = distances.nearest_per_group(
            x, [self.pos_refs, self.prior_refs, self.neg_refs])
        if len(self.prior_refs):
            d_prior += PRIOR_PENALTY
            np.minimum(d_pos, d_prior, out=d_pos)
        return d_pos, d_neg

    def score(self, x: np.ndarray) -> np.ndarray:
        """Probability in [0, 1] (float32) that each face is the target."""
        d_pos, d_neg = self.distances(x)
        return _sigmoid(design(d_pos, d_neg) @ self.weights.astype(np.float32))

    # --- serialisation (the model_runs.params blob; it contains encodings: biometric data) ---

    def meta(self) -> dict:
        """Everything except the encodings, JSON-safe (for logs and the owner's page)."""
        return {
            "format": FORMAT,
            "weights": [float(w) for w in self.weights],
            "threshold": float(self.threshold),
            "target_precision": float(self.target_precision),
            "n_positive": self.n_positive, "n_negative": self.n_negative,
            "n_shared": self.n_shared,
            "precision_estimate": self.precision_estimate,
            "recall_estimate": self.recall_estimate,
            "estimate_method": self.estimate_method,
            "calibration": self.calibration,
        }

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        meta = np.frombuffer(json.dumps(self.meta()).encode(), dtype=np.uint8)
        np.savez_compressed(buf, meta=meta, pos_refs=self.pos_refs, neg_refs=self.neg_refs,
                            prior_refs=self.prior_refs)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> Model:
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode())
                arrays: dict[str, Any] = {k: as_matrix(z[k])
                                          for k in ("pos_refs", "neg_refs", "prior_refs")}
        except (ValueError, KeyError, OSError) as exc:
            raise ValueError(f"not a serialised model: {exc}") from exc
        if meta.get("format") != FORMAT:
            raise ValueError(f"unknown model format {meta.get('format')!r}")
        meta.pop("format")
        try:
            meta["weights"] = np.asarray(meta["weights"], np.float64)
            return cls(**arrays, **meta)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a serialised model: {exc}") from exc


def _loo_features(pos: np.ndarray, neg: np.ndarray,
                  prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Design rows of the labelled faces (positives then negatives), each without itself."""
    labelled = np.concatenate([pos, neg])
    n_pos = len(pos)
    own_pos = np.where(np.arange(len(labelled)) < n_pos, np.arange(len(labelled)), -1)
    own_neg = np.where(np.arange(len(labelled)) >= n_pos, np.arange(len(labelled)) - n_pos, -1)
    d_pos = distances.nearest_excluding(labelled, pos, own_pos)
    if len(prior):
        np.minimum(d_pos, distances.nearest(labelled, prior) + PRIOR_PENALTY, out=d_pos)
    d_neg = distances.nearest_excluding(labelled, neg, own_neg)
    return design(d_pos, d_neg), np.isfinite(d_pos)


def train(pos: np.ndarray, neg: np.ndarray | None = None, prior: np.ndarray | None = None, *,
          fit: np.ndarray | None = None,
          target_precision: float = DEFAULT_TARGET_PRECISION) -> Model:
    """Train on human-confirmed positives and negatives (and shared positives, if opted in).

    Every answer is a reference (nearest positive, nearest negative); only the answers in
    ``fit`` (a mask over positives then negatives; default all) fit the weights. Answers given
    in a grid of proposals were chosen because they scored high: fitted, they would teach that
    every face like them is the target, so the caller leaves them out of ``fit``. Works from a
    single positive and no negatives: the prior weights then do the work. The threshold set
    here is the standalone one (score >= target precision); calibration.calibrate() sets the
    project's threshold from the scores of its unlabelled faces.
    """
    pos, neg = as_matrix(pos), as_matrix(neg)
    n_shared = len(as_matrix(prior))
    # shared positives may be thousands: the same spread subset trains and scores
    prior = _spread(as_matrix(prior), MAX_POSITIVE_REFS)
    if len(pos) == 0 and len(prior) == 0:
        raise ValueError("training needs at least one confirmed or shared positive")
    if not 0.5 <= target_precision < 1.0:
        raise ValueError("target_precision must be in [0.5, 1)")
    u, usable = _loo_features(pos, neg, prior)
    if fit is not None:
        if len(fit) != len(usable):
            raise ValueError("fit must have one entry per positive and negative")
        usable &= np.asarray(fit, bool)
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    # A positive with no other positive to compare with tells nothing about distances.
    weights = fit_logistic(u[usable], y[usable]) if usable.any() else PRIOR_WEIGHTS.copy()
    return Model(
        weights=weights,
        pos_refs=_spread(pos, MAX_POSITIVE_REFS),
        neg_refs=_hardest(neg, pos if len(pos) else prior, MAX_NEGATIVE_REFS),
        prior_refs=prior,
        threshold=float(target_precision),
        target_precision=float(target_precision),
        n_positive=len(pos), n_negative=len(neg), n_shared=n_shared,
        calibration={"n_answers_fitted": int(usable.sum())},
    )


def loo_scores(model: Model, pos: np.ndarray,
               neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-out scores of the labelled faces (positives, negatives) under model's weights
    and shared positives: each face scored as if it had not been answered (for audits)."""
    pos, neg = as_matrix(pos), as_matrix(neg)
    u, _usable = _loo_features(pos, neg, model.prior_refs)
    s = _sigmoid(u @ model.weights.astype(np.float32))
    return s[:len(pos)], s[len(pos):]


def _spread(x: np.ndarray, cap: int) -> np.ndarray:
    if len(x) <= cap:
        return x.copy()
    return x[distances.farthest_point_sample(x, cap)].copy()


def _hardest(neg: np.ndarray, pos: np.ndarray, cap: int) -> np.ndarray:
    """The cap negatives nearest to any positive: the only ones that move a score near 0.5."""
    if len(neg) <= cap:
        return neg.copy()
    d = distances.nearest(neg, pos)
    return neg[np.argsort(d, kind="stable")[:cap]].copy()
