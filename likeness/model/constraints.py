"""At most one target per image, unless a human said otherwise.

A person is rarely twice in one photo; when the model likes two faces of one image, only the
better one can be right. An image where a human already confirmed the target proposes nothing
more (a human may confirm several: mirrors, collages, before/after pairs).
"""

from __future__ import annotations

import numpy as np


def best_per_image(scores: np.ndarray, image_ids: np.ndarray,
                   candidate: np.ndarray | None = None) -> np.ndarray:
    """Mask of the highest-scoring candidate face of each image (ties: the lower index)."""
    scores = np.asarray(scores, np.float32)
    image_ids = np.asarray(image_ids)
    if scores.shape != image_ids.shape:
        raise ValueError("scores and image_ids must have the same length")
    cand = np.ones(len(scores), bool) if candidate is None else np.asarray(candidate, bool)
    idx = np.flatnonzero(cand)
    out = np.zeros(len(scores), bool)
    if len(idx) == 0:
        return out
    # sort by image, then score descending, then index: the first of each image wins
    order = np.lexsort((idx, -scores[idx], image_ids[idx]))
    sorted_img = image_ids[idx][order]
    first = np.ones(len(order), bool)
    first[1:] = sorted_img[1:] != sorted_img[:-1]
    out[idx[order[first]]] = True
    return out


def proposals(scores: np.ndarray, image_ids: np.ndarray, threshold: float,
              labelled: np.ndarray, confirmed: np.ndarray) -> np.ndarray:
    """Mask of faces the model proposes as the target.

    A face is proposed when it is unlabelled, scores >= threshold, is the best-scoring such face
    of its image, and no face of its image is human-confirmed as the target.
    labelled: faces with any human answer (yes, no, not a face); confirmed: answered yes.
    """
    scores = np.asarray(scores, np.float32)
    image_ids = np.asarray(image_ids)
    labelled = np.asarray(labelled, bool)
    confirmed = np.asarray(confirmed, bool)
    if not (len(scores) == len(image_ids) == len(labelled) == len(confirmed)):
        raise ValueError("scores, image_ids, labelled and confirmed must have the same length")
    if (confirmed & ~labelled).any():
        raise ValueError("a confirmed face must also be labelled")
    taken = np.isin(image_ids, image_ids[confirmed])
    cand = ~labelled & ~taken & (scores >= threshold)
    return best_per_image(scores, image_ids, cand)


def candidates(scores: np.ndarray, image_ids: np.ndarray, labelled: np.ndarray,
               confirmed: np.ndarray) -> np.ndarray:
    """Faces that could become proposals at some threshold (best unlabelled face per free image)."""
    taken = np.isin(image_ids, image_ids[np.asarray(confirmed, bool)])
    return best_per_image(scores, image_ids, ~np.asarray(labelled, bool) & ~taken)
