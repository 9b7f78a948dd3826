"""At most one target per image unless a human confirmed more."""

import numpy as np
import pytest

from likeness.model import constraints


def test_best_face_per_image_wins() -> None:
    scores = np.array([0.995, 0.999, 0.2, 0.993, 0.991], np.float32)
    images = np.array([1, 1, 1, 2, 3])
    none = np.zeros(5, bool)
    proposed = constraints.proposals(scores, images, 0.99, none, none)
    assert proposed.tolist() == [False, True, False, True, True]


def test_image_with_a_confirmed_target_proposes_nothing_else() -> None:
    scores = np.array([0.999, 0.998, 0.997, 0.996], np.float32)
    images = np.array([1, 1, 2, 2])
    labelled = np.array([True, False, False, False])
    confirmed = labelled.copy()
    proposed = constraints.proposals(scores, images, 0.99, labelled, confirmed)
    assert proposed.tolist() == [False, False, True, False]


def test_a_rejected_face_frees_its_image_for_the_next_best() -> None:
    scores = np.array([0.999, 0.998], np.float32)
    images = np.array([7, 7])
    labelled = np.array([True, False])
    proposed = constraints.proposals(scores, images, 0.99, labelled, np.zeros(2, bool))
    assert proposed.tolist() == [False, True]


def test_humans_may_confirm_several_on_one_image() -> None:
    """Confirmed faces are labels, not proposals: the rule never hides them."""
    scores = np.array([0.999, 0.999, 0.995], np.float32)
    images = np.array([4, 4, 4])
    labelled = np.array([True, True, False])
    proposed = constraints.proposals(scores, images, 0.99, labelled, labelled)
    assert not proposed.any()


def test_threshold_ties_and_bad_input() -> None:
    scores = np.array([0.5, 0.5], np.float32)
    images = np.array([1, 1])
    none = np.zeros(2, bool)
    assert constraints.proposals(scores, images, 0.5, none, none).tolist() == [True, False]
    with pytest.raises(ValueError, match="same length"):
        constraints.proposals(scores, images[:1], 0.5, none, none)
    with pytest.raises(ValueError, match="confirmed face must also be labelled"):
        constraints.proposals(scores, images, 0.5, none, np.array([True, False]))


def test_vectorised_on_many_images() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 50_000, 200_000)
    scores = rng.random(200_000).astype(np.float32)
    none = np.zeros(len(scores), bool)
    proposed = constraints.proposals(scores, images, 0.9, none, none)
    assert len(np.unique(images[proposed])) == proposed.sum()
    # every image with a face >= 0.9 proposes exactly its best one
    best = np.full(50_000, -1.0)
    np.maximum.at(best, images, scores)
    expect = np.flatnonzero(best >= 0.9)
    np.testing.assert_array_equal(np.sort(images[proposed]), expect)
    assert np.all(scores[proposed] == best[images[proposed]])
