"""Chunked nearest-neighbour kernels against brute force."""

import numpy as np

from likeness.model import distances


def _brute(x: np.ndarray, refs: np.ndarray) -> np.ndarray:
    return np.sqrt(((x[:, None, :] - refs[None, :, :]) ** 2).sum(-1))


def test_nearest_matches_brute_force_across_chunks() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.1, (300, 128)).astype(np.float32)
    refs = rng.normal(0, 0.1, (17, 128)).astype(np.float32)
    expect = _brute(x, refs).min(axis=1)
    np.testing.assert_allclose(distances.nearest(x, refs, chunk=64), expect, atol=1e-5)
    a, b = distances.nearest_per_group(x, [refs[:5], np.zeros((0, 128), np.float32),
                                           refs[5:]], chunk=100)[::2]
    np.testing.assert_allclose(np.minimum(a, b), expect, atol=1e-5)
    assert np.isinf(distances.nearest(x, np.zeros((0, 128), np.float32))).all()
    # identical rows give about zero (float32 expansion: ~1e-3), never NaN from rounding < 0
    self_d = distances.nearest(refs, refs)
    assert np.all(np.isfinite(self_d)) and self_d.max() < 2e-3


def test_nearest_excluding_leaves_itself_out() -> None:
    rng = np.random.default_rng(1)
    refs = rng.normal(0, 0.1, (50, 128)).astype(np.float32)
    d = _brute(refs, refs)
    np.fill_diagonal(d, np.inf)
    own = np.arange(50)
    np.testing.assert_allclose(distances.nearest_excluding(refs, refs, own, chunk=7),
                               d.min(axis=1), atol=1e-5)
    own[::2] = -1  # -1 excludes nothing
    got = distances.nearest_excluding(refs, refs, own)
    assert np.all(got[::2] < 2e-3) and np.all(got[1::2] > 0.5)


def test_farthest_point_sample_covers_every_cluster() -> None:
    rng = np.random.default_rng(2)
    centres = rng.normal(0, 1.0, (6, 128))
    x = (np.repeat(centres, 50, axis=0) + rng.normal(0, 0.01, (300, 128))).astype(np.float32)
    chosen = distances.farthest_point_sample(x, 6)
    assert len(set(chosen // 50)) == 6
    assert len(distances.farthest_point_sample(x[:4], 10)) == 4
