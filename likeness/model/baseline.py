"""WikiVisage's model, for the benchmark and for tests that ours beats it.

Centroid of all positive encodings, L2 distance < 0.6, at most one match per image, only once
there are 5 human positives; the next question is a random unlabelled face. (WikiVisage also
fed its own proposals back into the centroid; this version uses human positives only, which is
kinder to the baseline.)
"""

from __future__ import annotations

import numpy as np

from likeness.model import constraints
from likeness.model.encodings import as_matrix

THRESHOLD = 0.6
MIN_POSITIVES = 5


def centroid_distances(encodings: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """Distance of every face to the centroid of the positives."""
    c = as_matrix(positives).mean(axis=0)
    return np.linalg.norm(as_matrix(encodings) - c, axis=1)


def proposals(encodings: np.ndarray, image_ids: np.ndarray, labelled: np.ndarray,
              confirmed: np.ndarray) -> np.ndarray:
    """Mask of faces the baseline proposes (none before MIN_POSITIVES confirmed)."""
    confirmed = np.asarray(confirmed, bool)
    if confirmed.sum() < MIN_POSITIVES:
        return np.zeros(len(confirmed), bool)
    d = centroid_distances(encodings, encodings[confirmed])
    # one per image: the closest face; an image with a confirmed face proposes nothing more
    near = constraints.proposals(-d, image_ids, -THRESHOLD, labelled, confirmed)
    return near & (d < THRESHOLD)


def select_next(labelled: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k random unlabelled faces."""
    pool = np.flatnonzero(~np.asarray(labelled, bool))
    return rng.choice(pool, size=min(k, len(pool)), replace=False).astype(np.int64)
