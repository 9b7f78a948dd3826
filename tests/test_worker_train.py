"""The train job: human answers in, scores, priorities and a model run out (real database)."""

import numpy as np
import pytest
from sqlalchemy import select, update

from likeness.db import jobs, progress, training
from likeness.db.jobs import JobKind, dedupe_key
from likeness.db.schema import decisions, faces, model_runs, projects
from tests import factories as f
from worker.jobs import JobRunner
from worker.loop import JOBS

SPREAD = 1 / np.sqrt(2 * 128)  # per-dimension scale giving distance ~1 between people


def person(rng, n, center=None, noise=0.35):
    center = rng.normal(scale=SPREAD, size=128) if center is None else center
    return center + rng.normal(scale=noise * SPREAD, size=(n, 128)), center


@pytest.fixture
def runner(make_context):
    return JobRunner(make_context(), {JobKind.TRAIN: JOBS[JobKind.TRAIN]}).run_one


def add_faces(conn, project_id, encodings, **values):
    ids = []
    for enc in encodings:
        image_id = f.image(conn, project_id)
        ids.append(f.face(conn, project_id, image_id, encoding=enc.astype("<f4").tobytes(),
                          **values))
    return ids


def train(runner, engine, project_id):
    with engine.begin() as conn:
        jobs.enqueue_train(conn, project_id)
    assert runner() is True
    with engine.connect() as conn:
        return conn.execute(select(jobs.jobs).order_by(jobs.jobs.c.id.desc())).first()


def scores(engine, ids):
    with engine.connect() as conn:
        rows = conn.execute(select(faces.c.id, faces.c.score, faces.c.priority, faces.c.label)
                            .where(faces.c.id.in_(ids))).all()
    return {r.id: r for r in rows}


def test_answers_train_a_model_that_separates_the_person(engine, runner):
    rng = np.random.default_rng(1)
    target, _ = person(rng, 12)
    other, _ = person(rng, 12)
    with engine.begin() as conn:
        project_id = f.project(conn, f.user(conn))
        yes = add_faces(conn, project_id, target[:4], label="yes")
        no = add_faces(conn, project_id, other[:4], label="no")
        t_open = add_faces(conn, project_id, target[4:])
        o_open = add_faces(conn, project_id, other[4:])
    job = train(runner, engine, project_id)
    assert job.state == "done", job.error
    with engine.connect() as conn:
        run = training.latest_run(conn, project_id)
        params = conn.execute(select(model_runs.c.params)
                              .where(model_runs.c.id == run.id)).scalar_one()
    assert (run.n_positive, run.n_negative) == (4, 4) and run.threshold is not None
    assert params and run.precision_estimate is not None
    assert "params" not in run._mapping   # progress polls never read the serialised model
    rows = scores(engine, yes + no + t_open + o_open)
    assert min(rows[i].score for i in t_open) > max(rows[i].score for i in o_open)
    proposed = {i for i in t_open + o_open if rows[i].score >= run.threshold}
    assert len(proposed) >= 6 and proposed <= set(t_open)  # conservative, never a stranger
    assert all(rows[i].priority is not None for i in t_open + o_open)
    assert [rows[i].label for i in yes] == ["yes"] * 4  # labels are never written by training


def test_a_run_says_how_much_is_left_and_grid_answers_do_not_fit_the_weights(engine, runner):
    rng = np.random.default_rng(2)
    target, _ = person(rng, 14)
    other, _ = person(rng, 30)
    with engine.begin() as conn:
        owner = f.user(conn)
        project_id = f.project(conn, owner)
        yes = add_faces(conn, project_id, target[:2], label="yes")
        grid = add_faces(conn, project_id, target[2:10], label="yes")
        add_faces(conn, project_id, target[10:])
        add_faces(conn, project_id, other)
        for face_id, via in [(i, "classify") for i in yes] + [(i, "grid") for i in grid]:
            conn.execute(decisions.insert().values(project_id=project_id, face_id=face_id,
                                                   user_id=owner, answer="yes", via=via))
        assert training.answered_as_proposals(conn, project_id) == set(grid)
        data = training.load_faces(conn, project_id)
    fitted = dict(zip(data.face_ids.tolist(), data.fit_mask.tolist(), strict=True))
    assert [fitted[i] for i in yes] == [True, True] and not any(fitted[i] for i in grid)
    assert train(runner, engine, project_id).state == "done"
    with engine.connect() as conn:
        run = training.latest_run(conn, project_id)
    estimate = progress.work_left(run)
    assert run.n_positive == 10
    assert estimate is not None and estimate.expected_left >= estimate.expected_next >= 0
    assert run.n_uncertain == estimate.n_uncertain


def test_nothing_new_means_no_new_run(engine, runner):
    rng = np.random.default_rng(2)
    with engine.begin() as conn:
        project_id = f.project(conn, f.user(conn))
        add_faces(conn, project_id, person(rng, 3)[0], label="yes")
        add_faces(conn, project_id, person(rng, 3)[0])
    assert train(runner, engine, project_id).state == "done"
    second = train(runner, engine, project_id)
    assert '"skipped"' in second.result
    with engine.connect() as conn:
        assert len(conn.execute(select(model_runs)).all()) == 1


def test_cold_start_asks_seeds_first(engine, runner):
    rng = np.random.default_rng(3)
    target, center = person(rng, 4)
    with engine.begin() as conn:
        project_id = f.project(conn, f.user(conn))
        others = add_faces(conn, project_id, person(rng, 6)[0])
        near = add_faces(conn, project_id, target[1:])
        seed = add_faces(conn, project_id, target[:1], source="seed")
    assert train(runner, engine, project_id).state == "done"
    rows = scores(engine, others + near + seed)
    order = sorted(rows, key=lambda i: rows[i].priority)
    assert order[0] == seed[0]
    assert set(order[1:4]) == set(near)  # then the faces closest to the seed
    assert all(rows[i].score is None for i in rows)  # no model without a human positive


def test_shared_knowledge_starts_a_new_projects_model(engine, runner):
    rng = np.random.default_rng(4)
    target, center = person(rng, 10)
    with engine.begin() as conn:
        owner = f.user(conn)
        veteran = f.project(conn, owner, share_knowledge=True)
        add_faces(conn, veteran, target[:5], label="yes")
        newcomer = f.project(conn, owner, category="New", share_knowledge=True)
        mine = add_faces(conn, newcomer, target[5:])
        strangers = add_faces(conn, newcomer, person(rng, 5)[0])
        loner = f.project(conn, owner, category="Private")  # not opted in: learns nothing
        add_faces(conn, loner, target[5:])
    assert train(runner, engine, newcomer).state == "done"
    with engine.connect() as conn:
        run = training.latest_run(conn, newcomer)
        assert run.n_shared == 5 and run.n_positive == 0
        assert len(training.shared_prior(conn, loner)) == 0
    rows = scores(engine, mine + strangers)
    assert min(rows[i].score for i in mine) > max(rows[i].score for i in strangers)
    with engine.begin() as conn:  # opting out stops the sharing
        conn.execute(update(projects).where(projects.c.id == veteran)
                     .values(share_knowledge=False))
        assert len(training.shared_prior(conn, newcomer)) == 0


def test_answers_during_training_ask_for_a_rerun(engine, runner, monkeypatch):
    rng = np.random.default_rng(5)
    with engine.begin() as conn:
        owner = f.user(conn)
        project_id = f.project(conn, owner)
        face_ids = add_faces(conn, project_id, person(rng, 4)[0], label="yes")
    import worker.train as train_module

    compute = train_module.model_run.run

    def answer_while_computing(*args, **kwargs):
        with engine.begin() as other:  # a labeller answers while the model trains
            f.decision(other, face_ids[0], project_id, owner, "no")
        return compute(*args, **kwargs)

    monkeypatch.setattr(train_module.model_run, "run", answer_while_computing)
    with engine.begin() as conn:
        jobs.enqueue_train(conn, project_id)
    assert runner() is True
    with engine.connect() as conn:
        states = conn.execute(select(jobs.jobs.c.state, jobs.jobs.c.dedupe_key)
                              .order_by(jobs.jobs.c.id)).all()
    assert states == [("done", None), ("queued", dedupe_key(JobKind.TRAIN, project_id))]


def test_random_picks_are_flagged_and_an_answer_freezes_the_flag(engine, runner):
    rng = np.random.default_rng(6)
    target, _ = person(rng, 30)
    with engine.begin() as conn:
        project_id = f.project(conn, f.user(conn))
        add_faces(conn, project_id, target[:3], label="yes")
        add_faces(conn, project_id, person(rng, 3)[0], label="no")
        open_ids = add_faces(conn, project_id, np.vstack([target[3:], person(rng, 40)[0]]))
    assert train(runner, engine, project_id).state == "done"
    with engine.connect() as conn:
        flagged = conn.execute(select(faces.c.id).where(faces.c.asked_at_random.is_(True))
                               ).scalars().all()
    assert flagged and set(flagged) <= set(open_ids)
    with engine.begin() as conn:  # a person answers a random pick
        conn.execute(update(faces).where(faces.c.id == flagged[0]).values(label="no"))
        f.decision(conn, flagged[0], project_id, f.user(conn), "no")
    assert train(runner, engine, project_id).state == "done"
    with engine.connect() as conn:
        data = training.load_faces(conn, project_id)
    assert data.random_asked[list(data.face_ids).index(flagged[0])]
    assert data.random_asked.sum() == 1  # only answered faces count for the audit


def test_turning_sharing_on_retrains_and_opting_in_reseeds(engine, runner):
    from likeness.db import projects as project_rows

    rng = np.random.default_rng(7)
    target, _ = person(rng, 8)
    with engine.begin() as conn:
        owner = f.user(conn)
        veteran = f.project(conn, owner, share_knowledge=True)
        add_faces(conn, veteran, target[:4], label="yes")
        newcomer = f.project(conn, owner, category="New")
        add_faces(conn, newcomer, target[4:])
    assert train(runner, engine, newcomer).state == "done"  # no model: nothing shared yet
    with engine.begin() as conn:
        project_rows.update_settings(conn, newcomer, share_knowledge=True,
                                     seed_outside_tree=True)
        kinds = {j.kind: j for j in conn.execute(select(jobs.jobs)
                                                 .where(jobs.jobs.c.state == "queued"))}
    assert set(kinds) == {"train", "seed"}
    assert runner() is True  # the forced train job runs although nothing was answered
    with engine.connect() as conn:
        assert training.latest_run(conn, newcomer).n_shared == 4
    with engine.begin() as conn:  # saving the same settings again queues nothing new
        project_rows.update_settings(conn, newcomer, share_knowledge=True,
                                     seed_outside_tree=True)
        assert conn.execute(select(jobs.jobs.c.kind).where(
            jobs.jobs.c.state == "queued")).scalars().all() == ["seed"]
