"""Which faces to ask about next.

Uncertainty first: the faces whose score is closest (in logit space) to the decision threshold
or to even odds are the ones whose answer moves the threshold and the weights most; seeds
(provisional positives) come before everything while unanswered. A batch is spread out: at
most one face per image, and no two faces closer than `min_distance` in encoding space (near
duplicates teach the same thing twice). A small random share keeps a sample of the whole
population among the answers, so the precision estimate can be audited without bias.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from likeness.model import distances
from likeness.model.encodings import as_matrix

MIN_DISTANCE = 0.25   # below this, two faces are near-duplicates (same person, similar photo)
_EPS = 1e-6


def logit(p: npt.ArrayLike) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), _EPS, 1.0 - _EPS)
    return np.log(p) - np.log1p(-p)


def priority(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Queue order key, lower first (float32).

    Distance in logit space to the nearer of two places where an answer teaches most: the
    threshold (answers there move what gets proposed) and score 0.5 (the most uncertain faces,
    whose answers move the weights). A high threshold alone would only ever ask likely yeses.
    """
    z = logit(scores)
    to_threshold = np.abs(z - float(logit(np.float64(threshold))))
    return np.minimum(to_threshold, np.abs(z)).astype(np.float32)


def _random_count(k: int, share: float, rng: np.random.Generator) -> int:
    """k * share, rounded at random so that small batches still honour the share on average."""
    expected = k * share
    base = int(np.floor(expected))
    return base + int(rng.random() < expected - base)


def select_next(scores: np.ndarray, image_ids: np.ndarray, encodings: np.ndarray,
                labelled_mask: np.ndarray, k: int, threshold: float,
                rng: np.random.Generator, random_share: float = 0.1,
                exclude: np.ndarray | None = None,
                min_distance: float = MIN_DISTANCE,
                seed_mask: np.ndarray | None = None) -> np.ndarray:
    """Indices of up to k faces to ask next, in asking order (see select_batch)."""
    return select_batch(scores, image_ids, encodings, labelled_mask, k, threshold, rng,
                        random_share, exclude, min_distance, seed_mask)[0]


def select_batch(scores: np.ndarray, image_ids: np.ndarray, encodings: np.ndarray,
                 labelled_mask: np.ndarray, k: int, threshold: float,
                 rng: np.random.Generator, random_share: float = 0.1,
                 exclude: np.ndarray | None = None,
                 min_distance: float = MIN_DISTANCE,
                 seed_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(indices of up to k faces to ask next, which of them were picked at random).

    scores: current model scores of all faces; labelled_mask: faces with a human answer;
    exclude: faces not to ask now (reserved for someone else, skipped by this user);
    seed_mask: provisional positives, asked before anything else while unanswered.
    Random picks are spread evenly through the uncertainty-ordered rest of the batch.
    """
    scores = np.asarray(scores, np.float32)
    image_ids = np.asarray(image_ids)
    n = len(scores)
    if not (len(image_ids) == n == len(labelled_mask)):
        raise ValueError("scores, image_ids and labelled_mask must have the same length")
    if not 0.0 <= random_share <= 1.0:
        raise ValueError("random_share must be in [0, 1]")
    open_ = ~np.asarray(labelled_mask, bool)
    if exclude is not None:
        open_ &= ~np.asarray(exclude, bool)
    seeds = (np.flatnonzero(open_ & np.asarray(seed_mask, bool))[:k] if seed_mask is not None
             else np.zeros(0, np.int64))
    open_[seeds] = False
    pool = np.flatnonzero(open_)
    k_rest = k - len(seeds)
    empty = np.zeros(0, bool)
    if k_rest <= 0 or len(pool) == 0:
        return seeds.astype(np.int64), np.zeros(len(seeds), bool) if len(seeds) else empty
    n_random = min(_random_count(k_rest, random_share, rng), len(pool))
    random_pick = rng.choice(pool, size=n_random, replace=False) if n_random else pool[:0]
    ordered = pool[np.argsort(priority(scores[pool], threshold), kind="stable")]
    rest = spread(ordered, image_ids, encodings, k_rest - n_random, min_distance,
                  taken=np.concatenate([seeds, random_pick]).astype(np.int64))
    # interleave: random picks at evenly spaced positions, so any prefix holds its share
    body = list(rest)
    slots = len(body) + len(random_pick)
    positions: np.ndarray | list[int] = []
    if len(random_pick):
        positions = (np.floor((np.arange(len(random_pick)) + rng.random()) * slots
                              / max(len(random_pick), 1))).astype(int)
    for pos, face in zip(positions, random_pick, strict=True):
        body.insert(int(pos), int(face))
    order = np.concatenate([seeds, np.asarray(body, np.int64)]).astype(np.int64)
    return order, np.isin(order, random_pick)


def queue_order(scores: np.ndarray, image_ids: np.ndarray, encodings: np.ndarray,
                labelled_mask: np.ndarray, threshold: float, rng: np.random.Generator,
                random_share: float = 0.1, seed_mask: np.ndarray | None = None,
                head: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """A full asking order of the unlabelled faces, for a queue that reads "ORDER BY priority".

    The first `head` faces are a select_batch() (seeds, spread-out uncertain faces, random
    share); the rest follow by uncertainty alone. Returns (order, picked at random).
    """
    first, is_random = select_batch(scores, image_ids, encodings, labelled_mask, head,
                                    threshold, rng, random_share, seed_mask=seed_mask)
    rest_mask = ~np.asarray(labelled_mask, bool)
    rest_mask[first] = False
    rest = np.flatnonzero(rest_mask)
    rest = rest[np.argsort(priority(np.asarray(scores)[rest], threshold), kind="stable")]
    order = np.concatenate([first, rest]).astype(np.int64)
    return order, np.concatenate([is_random, np.zeros(len(rest), bool)])


def spread(ordered: np.ndarray, image_ids: np.ndarray, encodings: np.ndarray, k: int,
           min_distance: float = MIN_DISTANCE, taken: np.ndarray | None = None,
           max_scan: int | None = None) -> np.ndarray:
    """Greedy: walk `ordered`, keep a face unless its image or a near-duplicate is already kept.

    If that leaves fewer than k, the rest are filled from the skipped faces, so a small project
    never runs dry. At most max_scan faces (default 50 k) are examined: the walk is in Python.
    """
    x = np.asarray(encodings, np.float32)
    taken_list = [int(i) for i in taken] if taken is not None else []
    kept_set = set(taken_list)
    images = {image_ids[i] for i in taken_list}
    refs = np.empty((len(taken_list) + max(k, 0), x.shape[1]), np.float32)
    refs[:len(taken_list)] = x[taken_list]
    n_refs = len(taken_list)
    min_sq = np.float32(min_distance) ** 2
    kept: list[int] = []
    skipped: list[int] = []
    limit = 50 * max(k, 1) if max_scan is None else max_scan
    for i in ordered[:limit]:
        if len(kept) >= k:
            break
        i = int(i)
        if i in kept_set:
            continue
        if image_ids[i] in images:
            skipped.append(i)
            continue
        if n_refs:
            diff = refs[:n_refs] - x[i]
            if np.einsum("ij,ij->i", diff, diff).min() < min_sq:
                skipped.append(i)
                continue
        kept.append(i)
        kept_set.add(i)
        images.add(image_ids[i])
        refs[n_refs] = x[i]
        n_refs += 1
    for i in skipped:  # fallback when diversity leaves too few
        if len(kept) >= k:
            break
        kept.append(i)
    return np.asarray(kept, np.int64)


def cold_start_order(seed_encodings: np.ndarray, encodings: np.ndarray,
                     seed_mask: np.ndarray | None = None,
                     labelled_mask: np.ndarray | None = None) -> np.ndarray:
    """Asking order before any model exists: seed faces first, then faces nearest a seed.

    seed_encodings: provisional positives (faces of the item's P18 image, faces on files that
    already carry P180 = the item); seed_mask: which of `encodings` are those seed faces in this
    project. Labelled faces are left out. Without seeds, the original order.
    """
    x = as_matrix(encodings)
    seeds = as_matrix(seed_encodings)
    n = len(x)
    seed_mask = np.zeros(n, bool) if seed_mask is None else np.asarray(seed_mask, bool)
    open_ = np.ones(n, bool) if labelled_mask is None else ~np.asarray(labelled_mask, bool)
    d = distances.nearest(x, seeds) if len(seeds) else np.zeros(n, np.float32)
    # seeds first (nearest to the other seeds first), then everyone else by distance
    key = np.where(seed_mask, -1.0, 0.0) + np.minimum(d, 10.0) / 100.0
    idx = np.flatnonzero(open_)
    return idx[np.argsort(key[idx], kind="stable")].astype(np.int64)
