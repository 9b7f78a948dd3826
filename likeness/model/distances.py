"""Nearest-neighbour distances between encodings, vectorised and chunked.

Distances come from matrix products: |x - p|^2 = |x|^2 + |p|^2 - 2 x.p, minimised over p before
the square root, so scoring a million faces against a few dozen references is one sgemm per chunk.
"""

from __future__ import annotations

import numpy as np

CHUNK = 65536  # rows per matrix product: about 16 MB of float32 per 64 references


def nearest(x: np.ndarray, refs: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """Euclidean distance from each row of x to its nearest row of refs (inf if refs is empty)."""
    n = len(x)
    out = np.full(n, np.inf, dtype=np.float32)
    if n == 0 or len(refs) == 0:
        return out
    refs = np.ascontiguousarray(refs, dtype=np.float32)
    ref_sq = np.einsum("ij,ij->i", refs, refs)
    refs_t2 = (-2.0 * refs).T.copy()  # fold the -2 into the matrix once
    for start in range(0, n, chunk):
        xc = x[start:start + chunk]
        g = xc @ refs_t2
        g += ref_sq
        best = g.min(axis=1)
        best += np.einsum("ij,ij->i", xc, xc)
        np.maximum(best, 0.0, out=best)  # rounding can make identical rows slightly negative
        out[start:start + chunk] = np.sqrt(best)
    return out


def nearest_excluding(x: np.ndarray, refs: np.ndarray, self_index: np.ndarray,
                      chunk: int = 4096) -> np.ndarray:
    """Like nearest(), but row i ignores refs[self_index[i]] (leave-one-out); -1 ignores nothing."""
    n = len(x)
    out = np.full(n, np.inf, dtype=np.float32)
    if n == 0 or len(refs) == 0:
        return out
    refs = np.ascontiguousarray(refs, dtype=np.float32)
    ref_sq = np.einsum("ij,ij->i", refs, refs)
    for start in range(0, n, chunk):
        xc = x[start:start + chunk]
        g = ref_sq[None, :] - 2.0 * (xc @ refs.T) + np.einsum("ij,ij->i", xc, xc)[:, None]
        rows = np.arange(len(xc))
        own = self_index[start:start + chunk]
        has = own >= 0
        g[rows[has], own[has]] = np.inf
        best = g.min(axis=1)
        out[start:start + chunk] = np.sqrt(np.maximum(best, 0.0))
    return out


def pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full (len(a), len(b)) distance matrix; for small sets only."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    sq = (np.einsum("ij,ij->i", a, a)[:, None] + np.einsum("ij,ij->i", b, b)[None, :]
          - 2.0 * (a @ b.T))
    return np.sqrt(np.maximum(sq, 0.0)).astype(np.float32)


def farthest_point_sample(x: np.ndarray, k: int, first: int = 0) -> np.ndarray:
    """Indices of k rows spread over x (greedy k-centre), starting from row `first`."""
    n = len(x)
    if k >= n:
        return np.arange(n)
    chosen = [first]
    dist = np.linalg.norm(x - x[first], axis=1)
    for _ in range(k - 1):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        np.minimum(dist, np.linalg.norm(x - x[nxt], axis=1), out=dist)
    return np.asarray(chosen)
