"""A whole model run, and the active-learning loop against WikiVisage's baseline."""

import numpy as np
import pytest

from bench import active_learning
from likeness.model import run as model_run
from tests.fixtures.model_faces import clusters


def test_cold_start_asks_seeds_then_their_neighbours_and_trains_nothing() -> None:
    rng = np.random.default_rng(0)
    x, person = clusters(rng, 5, 5)
    images = np.arange(len(x))
    labels = np.full(len(x), model_run.UNLABELLED, np.int8)
    labels[person == 4] = model_run.NO
    seeds = np.zeros(len(x), bool)
    seeds[2] = True  # a provisional positive of person 0 (e.g. the P18 image's face)
    cold = model_run.run(x, images, labels, seed_mask=seeds)
    assert cold.model is None and not cold.proposed.any() and np.isnan(cold.scores).all()
    order = np.argsort(cold.priority)
    assert order[0] == 2 and set(order[1:5]) == {0, 1, 3, 4}
    assert np.isnan(cold.priority[person == 4]).all()
    # a shared prior alone is enough to start a new project's model; the seed is still first
    started = model_run.run(x, images, labels, prior=x[person == 0][:2] + 0.01, seed_mask=seeds)
    assert started.model is not None and started.model.n_shared == 2
    assert started.model.n_positive == 0  # the unconfirmed seed trains nothing
    assert np.nanargmin(started.priority) == 2
    assert started.proposed[person == 0].sum() >= 2 and not started.proposed[person != 0].any()
    assert started.scores[person == 0].min() > started.scores[person != 0].max()
    with pytest.raises(ValueError, match="labels must be"):
        model_run.run(x, images, np.full(len(x), 7, np.int8))
    with pytest.raises(ValueError, match="same length"):
        model_run.run(x, images[:-1], labels)


def test_stored_scores_priorities_and_random_share_for_the_database(face_set) -> None:
    cat, _notes = active_learning.build_category(face_set, "george_w_bush")
    x, images, truth = cat.encodings, cat.image_ids, cat.truth
    rng = np.random.default_rng(3)
    labels = np.full(len(x), model_run.UNLABELLED, np.int8)
    asked = rng.random(len(x)) < 0.3
    labels[asked] = np.where(truth[asked], model_run.YES, model_run.NO)
    result = model_run.run(x, images, labels, random_asked=asked, rng=rng)
    unlabelled = labels == model_run.UNLABELLED
    threshold = result.model.threshold
    # what a plain "unlabelled and score >= threshold" query sees is exactly the proposals
    np.testing.assert_array_equal(unlabelled & (result.stored_scores >= threshold),
                                  result.proposed)
    assert len(np.unique(images[result.proposed])) == result.proposed.sum()
    # priorities: a rank over the unlabelled faces, NaN for answered ones
    assert np.isnan(result.priority[~unlabelled]).all()
    ranks = np.sort(result.priority[unlabelled])
    np.testing.assert_array_equal(ranks, np.arange(unlabelled.sum()))
    head = np.argsort(result.priority)[:100]
    assert len(np.unique(images[head])) == 100
    share = result.random_pick[head].mean()
    assert 0.05 <= share <= 0.15
    audit = result.model.calibration["audit"]
    assert audit["n_random_above"] >= 1 and audit["precision"] == 1.0
    assert np.isnan(result.loo_scores[unlabelled]).all()
    loo = result.loo_scores
    assert np.mean(loo[labels == model_run.YES]) > np.mean(loo[labels == model_run.NO]) + 0.5
    assert model_run.nullable(np.array([np.nan, 0.5])) == [None, 0.5]


def test_not_a_face_answers_train_nothing_and_are_never_asked_or_proposed() -> None:
    rng = np.random.default_rng(1)
    x, person = clusters(rng, 6, 6)
    images = np.arange(len(x))
    labels = np.full(len(x), model_run.UNLABELLED, np.int8)
    labels[0] = model_run.YES
    labels[1] = model_run.NOT_FACE  # a face of the target that the labeller called not a face
    result = model_run.run(x, images, labels)
    assert result.model.n_positive == 1 and result.model.n_negative == 0
    assert not result.proposed[1] and np.isnan(result.priority[1])
    assert model_run.labels_from_strings(["yes", None, "no", "not_face"]).tolist() == [1, -1, 0, 2]
    with pytest.raises(ValueError, match="unknown face label"):
        model_run.labels_from_strings(["maybe"])


@pytest.mark.parametrize("person", ["kofi_annan", "megawati_sukarnoputri", "tom_cruise"])
def test_active_learning_beats_the_centroid_baseline(face_set, person: str) -> None:
    """30 simulated answers: ours sends a >= 99% precise, nearly complete set; the baseline
    (random order, centroid < 0.6 after 5 positives) has found few of the target's faces."""
    cat, _notes = active_learning.build_category(face_set, person)
    ours = active_learning.simulate(cat, "ours", np.random.default_rng(1), 5, max_answers=30)
    base = active_learning.simulate(cat, "baseline", np.random.default_rng(2), 5, max_answers=30)
    p_ours, r_ours = ours.at(30)
    p_base, r_base = base.at(30)
    assert min(ours.precision) >= 0.99
    assert r_ours >= 0.9 and ours.first_reaching() is not None
    assert r_base < 0.5 and base.first_reaching() is None
    assert p_ours >= 0.99


def test_degenerate_projects_do_not_break_a_run() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(0, 0.06, (4, 128)).astype(np.float32)
    done = model_run.run(x, np.arange(4), np.array([1, 0, 0, 0], np.int8))
    assert not done.proposed.any() and np.isnan(done.priority).all()
    assert done.model.precision_estimate is None and done.model.recall_estimate == 1.0
    empty = model_run.run(np.zeros((0, 128), np.float32), np.arange(0), np.zeros(0, np.int8))
    assert empty.model is None and len(empty.priority) == 0
