"""Nearest-neighbour distances between encodings, vectorised and chunked.

Distances come from matrix products: |x - p|^2 = |x|^2 + |p|^2 - 2 x.p, minimised over p before
the square root, so scoring a million faces against a few dozen references is one sgemm per chunk.
"""

from __future__ import annotations

import numpy as np

CHUNK = 8192  # rows per matrix product: keeps the (refs x chunk) block in cache


def nearest(x: np.ndarray, refs: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """Euclidean distance from each row of x to its nearest row of refs (inf if refs is empty)."""
    return nearest_per_group(x, [refs], chunk)[0]


def nearest_per_group(x: np.ndarray, groups: list[np.ndarray],
                      chunk: int = CHUNK) -> list[np.ndarray]:
    """nearest(x, g) for each reference set g, with one matrix product per chunk for all sets.

    The block is laid out refs x faces, so the minimum over references is an element-wise
    minimum of contiguous rows (much faster in numpy than a per-row reduction).
    """
    n = len(x)
    outs = [np.full(n, np.inf, dtype=np.float32) for _ in groups]
    sizes = [len(g) for g in groups]
    if n == 0 or sum(sizes) == 0:
        return outs
    refs = np.ascontiguousarray(np.concatenate([g for g in groups if len(g)]), np.float32)
    refs_m2 = -2.0 * refs
    ref_sq = np.einsum("ij,ij->i", refs, refs)[:, None]
    bounds = np.cumsum([0] + [s for s in sizes if s])
    live = [i for i, s in enumerate(sizes) if s]
    for start in range(0, n, chunk):
        xc = x[start:start + chunk]
        g = refs_m2 @ xc.T
        g += ref_sq
        x_sq = np.einsum("ij,ij->i", xc, xc)
        for j, gi in enumerate(live):
            best = g[bounds[j]:bounds[j + 1]].min(axis=0)
            best += x_sq
            np.maximum(best, 0.0, out=best)  # rounding can make identical rows slightly < 0
            outs[gi][start:start + chunk] = np.sqrt(best)
    return outs


def nearest_excluding(x: np.ndarray, refs: np.ndarray, self_index: np.ndarray,
                      chunk: int = 1024) -> np.ndarray:
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
