"""A whole model run, and the active-learning loop against WikiVisage's baseline."""

import numpy as np
import pytest

from bench import active_learning
from likeness.model import run as model_run
from tests.fixtures.model_faces import clusters


def test_no_model_before_a_positive_and_bad_labels_rejected() -> None:
    rng = np.random.default_rng(0)
    x, person = clusters(rng, 5, 5)
    images = np.arange(len(x))
    labels = np.full(len(x), model_run.UNLABELLED, np.int8)
    labels[person != 0] = model_run.NO
    assert model_run.run(x, images, labels) is None
    # a shared prior alone is enough to start a new project's model
    started = model_run.run(x, images, labels, prior=x[person == 0][:2] + 0.01)
    assert started is not None and started.model.n_shared == 2
    assert started.proposed[person == 0].sum() >= 2 and not started.proposed[person != 0].any()
    assert started.scores[person == 0].min() > started.scores[person != 0].max()
    with pytest.raises(ValueError, match="labels must be"):
        model_run.run(x, images, np.full(len(x), 7, np.int8))
    with pytest.raises(ValueError, match="same length"):
        model_run.run(x, images[:-1], labels)


def test_not_a_face_answers_train_nothing_and_are_never_asked_or_proposed() -> None:
    rng = np.random.default_rng(1)
    x, person = clusters(rng, 6, 6)
    images = np.arange(len(x))
    labels = np.full(len(x), model_run.UNLABELLED, np.int8)
    labels[0] = model_run.YES
    labels[1] = model_run.NOT_FACE  # a face of the target that the labeller called not a face
    result = model_run.run(x, images, labels)
    assert result.model.n_positive == 1 and result.model.n_negative == 0
    assert not result.proposed[1] and np.isinf(result.priority[1])
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
