"""The classifier: trained on human answers only, calibrated, fast, serialisable."""

import inspect

import numpy as np
import pytest

from bench import active_learning
from likeness.model import classifier, distances
from likeness.model import run as model_run
from tests.fixtures.model_faces import clusters


def _split(rng: np.random.Generator, person: np.ndarray, target: int, n_pos: int, n_neg: int):
    pos = rng.choice(np.flatnonzero(person == target), n_pos, replace=False)
    neg = rng.choice(np.flatnonzero(person != target), n_neg, replace=False)
    return pos, neg


def test_separates_synthetic_people() -> None:
    rng = np.random.default_rng(0)
    x, person = clusters(rng, 20, 15)
    pos, neg = _split(rng, person, 0, 5, 30)
    model = classifier.train(x[pos], x[neg])
    s = model.score(x)
    assert s.dtype == np.float32 and s.min() >= 0.0 and s.max() <= 1.0
    target, other = s[person == 0], s[person != 0]
    assert target.min() > other.max()
    assert other.max() < 0.5 and np.median(target) > 0.9


def test_cold_start_one_positive_no_negative() -> None:
    rng = np.random.default_rng(1)
    x, person = clusters(rng, 10, 10)
    model = classifier.train(x[:1])
    assert model.n_positive == 1 and model.n_negative == 0
    assert model.threshold >= model.target_precision  # unverified prior: strict threshold
    s = model.score(x)
    assert s[person == 0].mean() > 0.8 > s[person != 0].max()
    with pytest.raises(ValueError, match="at least one"):
        classifier.train(np.zeros((0, 128), np.float32), x[10:20])


def test_only_human_answers_can_train_it() -> None:
    """No parameter takes the model's own proposals; run() learns from YES/NO labels only
    (``fit`` only narrows which of those answers fit the weights)."""
    params = set(inspect.signature(classifier.train).parameters)
    assert params == {"pos", "neg", "prior", "fit", "target_precision"}
    rng = np.random.default_rng(2)
    x, person = clusters(rng, 12, 10)
    with pytest.raises(TypeError):
        classifier.train(x[:2], x[20:30], proposals=x[2:5])  # type: ignore[call-arg]
    labels = np.full(len(x), model_run.UNLABELLED, np.int8)
    labels[:2] = model_run.YES
    labels[20:30] = model_run.NO
    image_ids = np.arange(len(x))
    first = model_run.run(x, image_ids, labels)
    assert first is not None and first.proposed[2:10].any()
    assert not first.proposed[10:].any()
    # the proposals are not answers: a second run over the same answers is the same model
    second = model_run.run(x, image_ids, labels)
    assert second.model.n_positive == 2 and second.model.n_negative == 10
    np.testing.assert_array_equal(first.model.weights, second.model.weights)
    np.testing.assert_array_equal(first.scores, second.scores)


def test_scores_a_million_rows_exactly() -> None:
    """Size and correctness at 1M rows (the timing is in bench/active_learning.py)."""
    rng = np.random.default_rng(3)
    refs, person = clusters(rng, 30, 8)
    model = classifier.train(refs[person == 0], refs[person != 0])
    block = rng.normal(0.0, 0.06, (10_000, 128)).astype(np.float32)
    block[:1000] = refs[rng.integers(0, len(refs), 1000)]
    x = np.tile(block, (100, 1))  # 1M rows without drawing 128M random numbers
    s = model.score(x)
    assert s.shape == (1_000_000,) and s.dtype == np.float32
    sample = np.r_[0:500, rng.integers(1000, len(x), 500)]
    np.testing.assert_array_equal(s[:10_000], s[-10_000:])
    d_pos = distances.pairwise(x[sample], model.pos_refs).min(axis=1)
    d_neg = distances.pairwise(x[sample], model.neg_refs).min(axis=1)
    expect = 1.0 / (1.0 + np.exp(-(classifier.design(d_pos, d_neg) @ model.weights)))
    np.testing.assert_allclose(s[sample], expect, atol=2e-4)


def test_reference_caps_keep_spread_positives_and_hardest_negatives() -> None:
    rng = np.random.default_rng(4)
    x, person = clusters(rng, 20, 160)
    pos = x[person == 0]
    neg = x[person != 0]
    model = classifier.train(pos[:classifier.MAX_POSITIVE_REFS + 20], neg)
    assert len(model.pos_refs) == classifier.MAX_POSITIVE_REFS
    assert len(model.neg_refs) == classifier.MAX_NEGATIVE_REFS
    kept = distances.nearest(model.neg_refs, pos).max()
    dropped = np.median(distances.nearest(neg, pos))
    assert kept <= dropped


def test_serialisation_round_trip() -> None:
    rng = np.random.default_rng(5)
    x, person = clusters(rng, 10, 10)
    prior = clusters(rng, 1, 5)[0]
    model = classifier.train(x[person == 0][:3], x[person != 0][:20], prior)
    blob = model.to_bytes()
    back = classifier.Model.from_bytes(blob)
    np.testing.assert_array_equal(back.score(x), model.score(x))
    assert back.meta() == model.meta()
    assert back.n_shared == 5
    with pytest.raises(ValueError, match="not a serialised model"):
        classifier.Model.from_bytes(b"garbage")


def test_calibrated_threshold_meets_target_on_held_out_faces(face_set) -> None:
    """Half the faces labelled at random; the proposals among the other half are >= 99% right."""
    recalls = []
    for person in ["george_w_bush", "gloria_macapagal_arroyo", "tom_cruise", "jackie_chan",
                   "ben_affleck"]:
        cat, _notes = active_learning.build_category(face_set, person)
        x, images, truth = cat.encodings, cat.image_ids, cat.truth
        rng = np.random.default_rng(6)
        labels = np.full(len(x), model_run.UNLABELLED, np.int8)
        labelled = rng.random(len(x)) < 0.5
        labels[labelled] = np.where(truth[labelled], model_run.YES, model_run.NO)
        result = model_run.run(x, images, labels)
        proposed = result.proposed
        assert proposed.any(), person
        precision = truth[proposed].mean()
        assert precision >= 0.99, (person, precision, result.model.threshold)
        recalls.append(truth[proposed].sum() / truth[~labelled].sum())
        est = result.model.precision_estimate
        assert est is not None and est >= result.model.target_precision
        assert 0.0 < result.model.recall_estimate <= 1.0
        assert "mean calibrated score" in result.model.estimate_method
    assert np.mean(recalls) >= 0.5, recalls


def test_answers_chosen_for_their_high_score_do_not_fit_the_weights(face_set) -> None:
    """Confirming a grid of likely faces adds references, not evidence that faces at their
    distance are the target: fitted, those all-yes answers would raise every score."""
    rng = np.random.default_rng(5)
    x, truth = face_set.encodings, face_set.face_person == "elton_john"
    pos = rng.permutation(np.flatnonzero(truth))[:12]
    others = np.flatnonzero(~truth)
    fitted = classifier.train(x[pos])
    left_out = classifier.train(x[pos], fit=np.zeros(len(pos), bool))
    np.testing.assert_allclose(left_out.weights, classifier.PRIOR_WEIGHTS)
    assert fitted.weights[0] > left_out.weights[0] + 0.1   # the all-yes fit inflates ...
    assert fitted.score(x[others]).sum() > 2 * left_out.score(x[others]).sum()  # ... every score
    with pytest.raises(ValueError, match="one entry per"):
        classifier.train(x[pos], fit=np.ones(3, bool))


def test_shared_prior_helps_with_few_labels(face_set) -> None:
    """One own positive plus another project's confirmed faces beats one own positive alone."""
    rng = np.random.default_rng(7)
    gains = []
    for person in ["george_w_bush", "colin_powell", "tiger_woods", "madonna", "kofi_annan"]:
        idx = rng.permutation(np.flatnonzero(face_set.face_person == person))
        own, shared, rest = idx[:1], idx[1:8], idx[8:]
        x = face_set.encodings
        neg_idx = rng.choice(np.flatnonzero(face_set.face_person != person), 5, replace=False)
        evaluate = np.setdiff1d(np.arange(len(x)), np.r_[own, shared, neg_idx])
        truth = np.isin(evaluate, rest)
        alone = classifier.train(x[own], x[neg_idx])
        helped = classifier.train(x[own], x[neg_idx], prior=x[shared])
        r_alone = (alone.score(x[evaluate])[truth] >= 0.9).mean()
        r_helped = (helped.score(x[evaluate])[truth] >= 0.9).mean()
        fp_helped = (helped.score(x[evaluate])[~truth] >= 0.9).sum()
        assert fp_helped <= 1
        gains.append(r_helped - r_alone)
    assert np.mean(gains) > 0.1, gains


def test_many_shared_positives_are_thinned_to_a_spread_subset() -> None:
    rng = np.random.default_rng(8)
    x, person = clusters(rng, 3, 400)
    prior = x[person == 0][:300]
    model = classifier.train(x[person == 0][300:301], x[person == 1][:20], prior=prior)
    assert model.n_shared == 300 and len(model.prior_refs) == classifier.MAX_POSITIVE_REFS
    s = model.score(x)
    assert s[person == 0].min() > s[person != 0].max()
