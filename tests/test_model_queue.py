"""What to ask next: uncertainty first, spread out, with an honest random share."""

import numpy as np
import pytest

from likeness.model import distances, queue
from tests.fixtures.model_faces import clusters


def _setup(seed: int = 0):
    rng = np.random.default_rng(seed)
    x, person = clusters(rng, 30, 10)
    images = np.arange(len(x)) // 3  # three faces per image
    scores = rng.random(len(x)).astype(np.float32)
    return rng, x, person, images, scores


def test_uncertain_faces_first() -> None:
    rng, x, _person, images, _ = _setup()
    scores = np.linspace(0.0, 1.0, len(x)).astype(np.float32)
    pick = queue.select_next(scores, np.arange(len(x)), x, np.zeros(len(x), bool), 5, 0.5,
                             rng, random_share=0.0, min_distance=0.0)
    assert np.all(np.abs(scores[pick] - 0.5) < 0.02)
    # and the key stored for the database orders the same way
    prio = queue.priority(scores, 0.5)
    assert prio.dtype == np.float32 and prio[pick].max() <= np.sort(prio)[10]


def test_asks_near_the_threshold_and_near_even_odds() -> None:
    scores = np.array([0.05, 0.5, 0.8, 0.985, 0.9999], np.float32)
    prio = queue.priority(scores, 0.99)
    assert prio[1] < prio[0] and prio[3] < prio[2] and prio[3] < prio[4]


def test_batch_is_one_face_per_image_and_no_near_duplicates() -> None:
    rng, x, _person, images, scores = _setup(1)
    # near-duplicates of face 0 with the most uncertain scores
    x = np.concatenate([x, x[:1] + 0.001, x[:1] + 0.002])
    images = np.concatenate([images, [10_000, 10_001]])
    scores = np.concatenate([scores, [0.5, 0.5]]).astype(np.float32)
    scores[0] = 0.5
    pick = queue.select_next(scores, images, x, np.zeros(len(x), bool), 40, 0.5, rng,
                             random_share=0.0)
    assert len(pick) == 40
    assert len(set(images[pick])) == 40
    d = distances.pairwise(x[pick], x[pick])
    assert d[np.triu_indices(len(pick), 1)].min() >= queue.MIN_DISTANCE
    assert sum(i in pick for i in (0, len(x) - 2, len(x) - 1)) == 1


def test_never_asks_labelled_or_excluded_faces_and_fills_small_pools() -> None:
    rng, x, _person, images, scores = _setup(2)
    labelled = np.zeros(len(x), bool)
    labelled[: len(x) - 6] = True
    exclude = np.zeros(len(x), bool)
    exclude[-1] = True
    pick = queue.select_next(scores, images, x, labelled, 10, 0.5, rng, exclude=exclude)
    assert sorted(pick.tolist()) == list(range(len(x) - 6, len(x) - 1))
    assert len(queue.select_next(scores, images, x, np.ones(len(x), bool), 5, 0.5, rng)) == 0


def test_random_share_is_honoured_on_average() -> None:
    """With share 0.2 and batches of 1, about a fifth of the picks are not the top face."""
    _rng, x, _person, _images, scores = _setup(3)
    ids = np.arange(len(x))
    top = int(np.argmin(queue.priority(scores, 0.5)))
    rng = np.random.default_rng(4)
    picks = [queue.select_next(scores, ids, x, np.zeros(len(x), bool), 1, 0.5, rng,
                               random_share=0.2)[0] for _ in range(2000)]
    off_top = np.mean(np.array(picks) != top)
    assert 0.16 < off_top < 0.24  # random picks land on the top face only 1/300 of the time
    big = queue.select_next(scores, ids, x, np.zeros(len(x), bool), 50, 0.5, rng,
                            random_share=0.1)
    assert len(big) == 50
    with pytest.raises(ValueError, match="random_share"):
        queue.select_next(scores, ids, x, np.zeros(len(x), bool), 5, 0.5, rng, random_share=2)


def test_cold_start_puts_seeds_first_then_nearest() -> None:
    rng = np.random.default_rng(5)
    x, person = clusters(rng, 10, 8)
    seed_mask = np.zeros(len(x), bool)
    seed_mask[[3, 5]] = True  # two faces of person 0 already carry P180
    p18 = x[person == 0][:1] + 0.01  # the item's P18 image: not one of the project's faces
    order = queue.cold_start_order(np.concatenate([p18, x[seed_mask]]), x, seed_mask)
    assert set(order[:2]) == {3, 5}
    assert set(order[2:8]) == set(np.flatnonzero(person == 0)) - {3, 5}
    labelled = np.zeros(len(x), bool)
    labelled[3] = True
    order = queue.cold_start_order(x[seed_mask], x, seed_mask, labelled)
    assert order[0] == 5 and 3 not in order
    assert len(queue.cold_start_order(np.zeros((0, 128)), x)) == len(x)
