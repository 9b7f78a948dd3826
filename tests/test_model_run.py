"""A whole model run, and the active-learning loop against WikiVisage's baseline."""

import numpy as np
import pytest

from bench import active_learning
from likeness.model import run as model_run
from likeness.model import stop
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
    """A simulated session with the P18 seed and confirmation grids: what ours would send is
    >= 99 % precise at every point, complete after a few answers, and it says "done" at a
    cost of less than one action per statement; the baseline (random order, centroid < 0.6
    after 5 positives) has found few of the target's faces after 30 answers."""
    cat, _notes = active_learning.build_category(face_set, person)
    ours = active_learning.simulate(cat, "ours", np.random.default_rng(1), 3)
    base = active_learning.simulate(cat, "baseline", np.random.default_rng(2), 5, max_answers=30)
    assert min(ours.precision) >= 0.99
    need = ours.first_reaching()
    assert need is not None and need <= 15
    assert any(ours.done) and ours.recall[ours.done.index(True)] >= 0.9
    assert ours.sent_correct >= 0.9 * cat.truth.sum()
    assert ours.actions_per_statement() < 1.0
    assert base.at(30)[1] < 0.5 and base.first_reaching() is None


def test_one_correct_far_no_cannot_make_the_proposals_collapse(face_set) -> None:
    """A correct "no" on the likeliest wrong face (far below the threshold) moves no proposal
    much: the threshold depends on no single answer."""
    cat, _notes = active_learning.build_category(face_set, "george_w_bush")
    x, images, truth = cat.encodings, cat.image_ids, cat.truth
    labels = np.full(len(x), model_run.UNLABELLED, np.int8)
    labels[np.flatnonzero(truth)[:4]] = model_run.YES
    before = model_run.run(x, images, labels, rng=np.random.default_rng(0))
    assert before.proposed.sum() >= 5 and truth[before.proposed].all()
    far = np.flatnonzero(~truth & (labels == model_run.UNLABELLED))
    far = far[np.argmax(before.scores[far])]
    assert 0.05 < before.scores[far] < before.model.threshold
    labels[far] = model_run.NO
    after = model_run.run(x, images, labels, rng=np.random.default_rng(0))
    recall = [truth[r.proposed].sum() / truth.sum() for r in (before, after)]
    assert recall[1] >= recall[0] - 0.10
    assert after.model.threshold == before.model.threshold


def test_work_left_and_the_grid_faces_in_the_stored_scores(face_set) -> None:
    cat, _notes = active_learning.build_category(face_set, "colin_powell")
    x, images, truth = cat.encodings, cat.image_ids, cat.truth
    labels = np.full(len(x), model_run.UNLABELLED, np.int8)
    labels[np.flatnonzero(truth)[:2]] = model_run.YES
    early = model_run.run(x, images, labels, rng=np.random.default_rng(0))
    left = early.work_left
    assert left is not None and not left.done and left.expected_left > left.expected_next > 0.5
    # one face per image at or above LIKELY in the stored scores: the grid's faces
    grid = (labels == model_run.UNLABELLED) & (early.stored_scores >= model_run.LIKELY)
    assert grid.sum() >= 3 and len(np.unique(images[grid])) == grid.sum()
    assert (early.proposed <= grid).all() and truth[grid].mean() >= 0.9
    labels[truth] = model_run.YES   # every target found
    late = model_run.run(x, images, labels, rng=np.random.default_rng(0))
    assert late.work_left.done and late.work_left.expected_next < stop.DONE_EXPECTED
    assert not late.proposed.any()


def test_stop_estimate_and_the_words_for_it() -> None:
    scores = np.array([0.99, 0.6, 0.3, 0.04, 0.01, 0.7], np.float32)
    cand = np.array([True, True, True, True, True, False])
    est = stop.estimate(scores, cand, threshold=0.95)
    assert est.n_uncertain == 2   # 0.6, 0.3 (0.04 is below UNLIKELY, 0.7 is no candidate)
    assert est.expected_left == pytest.approx(0.95) and not est.done
    assert stop.estimate(scores[3:5], cand[3:5], 0.95).done
    assert not stop.is_done(None)
    assert stop.left_range(0.0) == (0, 0) and stop.left_range(0.3) == (0, 2)
    assert stop.left_range(9.0) == (4, 14)


def test_degenerate_projects_do_not_break_a_run() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(0, 0.06, (4, 128)).astype(np.float32)
    done = model_run.run(x, np.arange(4), np.array([1, 0, 0, 0], np.int8))
    assert not done.proposed.any() and np.isnan(done.priority).all()
    assert done.model.precision_estimate is None and done.model.recall_estimate == 1.0
    empty = model_run.run(np.zeros((0, 128), np.float32), np.arange(0), np.zeros(0, np.int8))
    assert empty.model is None and len(empty.priority) == 0
