"""Decisions, the ask-queue, drawn boxes and review on a real database (SQLite or MariaDB)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from likeness.db import boxes, decisions, progress, queue, review
from likeness.db.jobs import JobKind, dedupe_key
from likeness.db.schema import decisions as decisions_t
from likeness.db.schema import faces, jobs, model_runs
from tests import factories


@pytest.fixture
def world(engine):
    """Two members of one project with six encoded faces on three images."""
    with engine.begin() as conn:
        alice = factories.user(conn, "Alice")
        bob = factories.user(conn, "Bob")
        project = factories.project(conn, alice)
        face_ids = []
        for n in range(3):
            image = factories.image(conn, project, thumb_url=f"http://x/{n}.jpg",
                                    thumb_width=640, thumb_height=480, status="done")
            face_ids += [factories.face(conn, project, image), factories.face(conn, project, image)]
    return {"alice": alice, "bob": bob, "project": project, "faces": face_ids}


def label_of(engine, face_id):
    with engine.connect() as conn:
        return conn.execute(select(faces.c.label).where(faces.c.id == face_id)).scalar()


def answer(engine, w, face_id, value, user="alice", token=None, via="classify"):
    with engine.begin() as conn:
        return decisions.record(conn, project_id=w["project"], face_id=face_id,
                                user_id=w[user], answer=value, via=via, client_token=token)


def undo(engine, w, user="alice", token=None):
    with engine.begin() as conn:
        return decisions.undo_latest(conn, project_id=w["project"], user_id=w[user],
                                     client_token=token)


def next_ids(engine, w, user="alice", k=10, held=()):
    with engine.begin() as conn:
        return [f.id for f in queue.next_faces(conn, w["project"], w[user], k, held=held)]


def test_answers_set_the_label_and_undo_restores_many_levels(engine, world):
    f1, f2, f3 = world["faces"][:3]
    answer(engine, world, f1, "yes")
    answer(engine, world, f2, "no")
    answer(engine, world, f3, "not_face")
    assert [label_of(engine, f) for f in (f1, f2, f3)] == ["yes", "no", "not_face"]
    assert undo(engine, world).face_id == f3
    assert undo(engine, world).face_id == f2
    assert [label_of(engine, f) for f in (f1, f2, f3)] == ["yes", None, None]
    assert undo(engine, world).face_id == f1
    assert undo(engine, world) is None            # nothing left to take back
    assert label_of(engine, f1) is None
    with engine.connect() as conn:
        rows = conn.execute(select(decisions_t.c.answer)).scalars().all()
    assert sorted(rows) == sorted(["yes", "no", "not_face", "undo", "undo", "undo"])


def test_undo_is_per_user_and_label_follows_the_latest_remaining_answer(engine, world):
    f1 = world["faces"][0]
    answer(engine, world, f1, "yes", user="alice")
    answer(engine, world, f1, "reject", user="bob", via="review")
    assert label_of(engine, f1) == "no"
    # Alice undoes her own answer; Bob's later reject still stands.
    assert undo(engine, world, user="alice").face_id == f1
    assert label_of(engine, f1) == "no"
    assert undo(engine, world, user="bob").face_id == f1
    assert label_of(engine, f1) is None


def test_retried_post_with_same_token_records_once(engine, world):
    f1 = world["faces"][0]
    first = answer(engine, world, f1, "yes", token="tok-1")
    again = answer(engine, world, f1, "yes", token="tok-1")
    assert not first.duplicate and again.duplicate
    assert again.decision_id == first.decision_id
    u1 = undo(engine, world, token="undo-1")
    u2 = undo(engine, world, token="undo-1")
    assert u2.duplicate and u2.decision_id == u1.decision_id
    with engine.connect() as conn:
        assert len(decisions.history(conn, f1)) == 2   # one yes, one undo
    # The same token from another user is another answer.
    assert not answer(engine, world, f1, "no", user="bob", token="tok-1").duplicate


def test_bad_answers_are_refused(engine, world):
    with pytest.raises(decisions.DecisionError) as err:
        answer(engine, world, world["faces"][0], "maybe")
    assert err.value.code == "bad_answer"
    with engine.begin() as conn:
        other = factories.project(conn, world["alice"], qid="Q1")
    with pytest.raises(decisions.DecisionError) as err, engine.begin() as conn:
        decisions.record(conn, project_id=other, face_id=world["faces"][0],
                         user_id=world["alice"], answer="yes")
    assert err.value.code == "no_face"
    with pytest.raises(decisions.DecisionError) as err:
        answer(engine, world, world["faces"][0], "yes", token="x" * 65)
    assert err.value.code == "bad_token"


def test_answer_queues_one_training_job(engine, world):
    for face_id in world["faces"][:3]:
        answer(engine, world, face_id, "yes")
    with engine.connect() as conn:
        rows = conn.execute(select(jobs.c.kind, jobs.c.dedupe_key)).all()
    assert rows == [("train", dedupe_key(JobKind.TRAIN, world["project"]))]


def test_skip_hides_from_me_but_not_from_others_and_undo_brings_it_back(engine, world):
    f1 = world["faces"][0]
    assert next_ids(engine, world, k=1) == [f1]
    answer(engine, world, f1, "skip")
    assert f1 not in next_ids(engine, world)
    assert label_of(engine, f1) is None
    assert f1 in next_ids(engine, world, user="bob")
    # Bob holds it now: Alice's undo of her skip takes the skip back but leaves it to Bob.
    undone = undo(engine, world)
    assert undone.face_id == f1 and undone.held is False
    with engine.connect() as conn:
        row = conn.execute(select(faces.c.reserved_by).where(faces.c.id == f1)).one()
    assert row.reserved_by == world["bob"]
    assert f1 not in next_ids(engine, world)     # un-skipped, but on Bob's screen
    # Bob skips it: free again, and Alice (whose skip is undone) is offered it once more.
    answer(engine, world, f1, "skip", user="bob")
    assert f1 in next_ids(engine, world)


def test_reservations_are_exclusive_and_renewed(engine, world):
    mine = next_ids(engine, world, k=3)
    theirs = next_ids(engine, world, user="bob", k=10)
    assert len(mine) == 3 and len(theirs) == 3
    assert not set(mine) & set(theirs)
    # Asking again with what I hold gives nothing new (Bob has the rest), and keeps mine.
    assert next_ids(engine, world, k=5, held=mine) == []
    # Answering releases; labelled faces never come back.
    answer(engine, world, mine[0], "yes")
    assert mine[0] not in next_ids(engine, world, user="bob", held=theirs)


def test_concurrent_labellers_never_get_the_same_face(engine):
    with engine.begin() as conn:
        users = [factories.user(conn) for _ in range(5)]
        project = factories.project(conn, users[0])
        image = factories.image(conn, project, status="done")
        all_faces = {factories.face(conn, project, image) for _ in range(60)}
    got: dict[int, list[int]] = {}
    errors = []

    def labeller(user_id):
        try:
            mine = []
            for _ in range(8):   # more than the 60 faces: they compete for the last ones
                with engine.begin() as conn:
                    mine += [f.id for f in queue.next_faces(conn, project, user_id, 3,
                                                             held=mine)]
            got[user_id] = mine
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=labeller, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    handed_out = [f for ids in got.values() for f in ids]
    assert len(handed_out) == len(set(handed_out))
    # SKIP LOCKED may hand a racing labeller fewer than asked; nothing is held twice and
    # whatever is left is still there for the next person.
    with engine.begin() as conn:
        late = factories.user(conn)
        rest = [f.id for f in queue.next_faces(conn, project, late, 20)]
    assert len(handed_out) >= 40
    assert sorted(handed_out + rest) == sorted(all_faces)


def test_queue_order_seeds_first_then_priority_after_a_model(engine, world):
    f = world["faces"]
    with engine.begin() as conn:
        conn.execute(faces.update().where(faces.c.id == f[4]).values(source="seed"))
        conn.execute(faces.update().where(faces.c.id == f[5]).values(state="encoding"))
    assert next_ids(engine, world, k=2) == [f[4], f[0]]
    with engine.begin() as conn:
        queue.release(conn, world["alice"], [f[4], f[0]])
        conn.execute(model_runs.insert().values(project_id=world["project"]))
        for rank, face_id in enumerate([f[3], f[1], f[0], f[2], f[4]]):
            conn.execute(faces.update().where(faces.c.id == face_id).values(priority=rank))
    # The face still waiting for its encoding is never asked.
    assert next_ids(engine, world, k=10) == [f[3], f[1], f[0], f[2], f[4]]


def test_unscored_faces_never_jump_the_queue_and_unscored_seeds_come_first(engine, world):
    """After a model run, faces no run has scored yet (NULL priority, new files) come after the
    scored ones on both databases (NULLs sort first in ascending order on both); a seed that
    arrived after the run is still the first question."""
    f = world["faces"]
    with engine.begin() as conn:
        conn.execute(model_runs.insert().values(project_id=world["project"]))
        for rank, face_id in enumerate([f[2], f[0], f[4]]):
            conn.execute(faces.update().where(faces.c.id == face_id).values(priority=rank))
        conn.execute(faces.update().where(faces.c.id == f[5]).values(source="seed"))
    assert next_ids(engine, world, k=10) == [f[5], f[2], f[0], f[4], f[1], f[3]]


def test_once_done_the_queue_leaves_out_unlikely_faces_unless_asked(engine, world):
    f = world["faces"]
    with engine.begin() as conn:
        conn.execute(model_runs.insert().values(
            project_id=world["project"], n_uncertain=0, expected_left=0.4, expected_next=0.3))
        for rank, face_id in enumerate(f):
            conn.execute(faces.update().where(faces.c.id == face_id).values(
                priority=rank, score=0.3 if face_id == f[1] else 0.01))
        assert progress.is_done(conn, world["project"])
    assert next_ids(engine, world, k=10) == [f[1]]
    with engine.begin() as conn:
        more = queue.next_faces(conn, world["project"], world["alice"], 10, held=[f[1]],
                                include_unlikely=True)
    assert [x.id for x in more] == [f[0], f[2], f[3], f[4], f[5]]
    with engine.begin() as conn:   # a newer run that is not done asks everything again
        conn.execute(model_runs.insert().values(
            project_id=world["project"], n_uncertain=3, expected_left=2.0, expected_next=1.5))
        assert not progress.is_done(conn, world["project"])
        queue.release(conn, world["alice"], f)
    assert next_ids(engine, world, k=10) == f


def test_drawn_box_is_validated_inserted_and_queued(engine, world):
    with engine.connect() as conn:
        image_id = conn.execute(select(faces.c.image_id).where(
            faces.c.id == world["faces"][0])).scalar()

    def draw(box, replaces=None):
        with engine.begin() as conn:
            return boxes.add_box(conn, project_id=world["project"], image_id=image_id,
                                 user_id=world["alice"], box=boxes.parse_box(box),
                                 replaces=replaces)

    for bad, code in [({"left": 0.9, "top": 0.1, "width": 0.2, "height": 0.2}, "out_of_image"),
                      ({"left": -0.1, "top": 0.1, "width": 0.2, "height": 0.2}, "out_of_image"),
                      ({"left": 0.1, "top": 0.1, "width": 0.005, "height": 0.2}, "too_small"),
                      ({"left": 0.1, "top": 0.1, "width": 0.015, "height": 0.2}, "too_small"),
                      ({"left": 0.1, "top": 0.1, "width": "x", "height": 0.2}, "bad_box"),
                      ({"left": 0.1, "top": 0.1}, "bad_box")]:
        with pytest.raises(boxes.BoxError) as err:
            draw(bad)
        assert err.value.code == code, bad
    new_id = draw({"left": 0.25, "top": 0.125, "width": 0.2, "height": 0.3})
    with engine.connect() as conn:
        face = conn.execute(select(faces).where(faces.c.id == new_id)).one()
        job = conn.execute(select(jobs).where(jobs.c.kind == "encode_box")).one()
    assert (face.box_left, face.box_top, face.box_width, face.box_height) == (
        0.25, 0.125, 0.2, 0.3)
    assert (face.source, face.state, face.detection_id, face.created_by, face.label) == (
        "manual", "encoding", None, world["alice"], "yes")
    assert (job.face_id, job.project_id) == (new_id, world["project"])
    # Editing the wrong box: the old face is replaced and leaves the queue.
    old = world["faces"][0]
    newer = draw({"left": 0.5, "top": 0.5, "width": 0.25, "height": 0.25}, replaces=old)
    with engine.connect() as conn:
        assert boxes.box_state(conn, world["project"], old)["state"] == "replaced"
        assert boxes.box_state(conn, world["project"], newer)["state"] == "encoding"
    assert old not in next_ids(engine, world)
    with pytest.raises(boxes.BoxError):
        draw({"left": 0.5, "top": 0.5, "width": 0.25, "height": 0.25}, replaces=old)


def test_review_grid_page_approve_and_reject(engine, world):
    f = world["faces"]
    with engine.begin() as conn:
        for face_id, score in zip(f, [0.9, 0.55, 0.7, 0.2, 0.95, 0.6], strict=True):
            conn.execute(faces.update().where(faces.c.id == face_id).values(score=score))
        conn.execute(faces.update().where(faces.c.id == f[5]).values(source="seed"))
        page = review.grid(conn, world["project"], source="model")
    # Above the default threshold, least certain first; seeds are their own filter.
    assert [r.id for r in page] == [f[1], f[2], f[0], f[4]]
    with engine.begin() as conn:
        counts = review.submit_page(conn, world["project"], world["alice"],
                                    approve=[f[1], f[0], f[4]], reject=[f[2]],
                                    client_token="page-1")
        again = review.submit_page(conn, world["project"], world["alice"],
                                   approve=[f[1], f[0], f[4]], reject=[f[2]],
                                   client_token="page-1")
        assert counts == {"approved": 3, "rejected": 1, "duplicates": 0}
        assert again["duplicates"] == 4
        assert review.grid(conn, world["project"], source="model") == []
        assert [r.id for r in review.grid(conn, world["project"], source="seed")] == [f[5]]
        human = review.grid(conn, world["project"], source="human", edit_state="none")
        assert [r.id for r in human] == [f[1], f[0], f[4]]
        # Only confirmed or approved faces are edit candidates: not the 0.6 seed, not f3.
        assert review.edit_candidates(conn, world["project"]) == sorted([f[0], f[1], f[4]])
    assert label_of(engine, f[2]) == "no"


def test_skip_list_and_per_row_check_agree(engine, world):
    f = world["faces"]
    for face_id in f[:3]:
        answer(engine, world, face_id, "skip")
    undo(engine, world)                        # un-skips f[2]
    answer(engine, world, f[3], "yes")
    with engine.connect() as conn:
        listed = queue.skipped_by(conn, world["project"], world["alice"])
        assert listed == [f[0], f[1]]
        assert queue.skipped_by(conn, world["project"], world["alice"], limit=2) is None
        now = queue.utcnow()
        per_row = conn.execute(select(faces.c.id).where(
            queue.askable(world["project"], world["alice"], now, None))).scalars().all()
        by_list = conn.execute(select(faces.c.id).where(
            queue.askable(world["project"], world["alice"], now, listed))).scalars().all()
    assert sorted(per_row) == sorted(by_list) == [f[2], f[4], f[5]]


def test_renewing_while_answering_does_not_deadlock(engine):
    """The page renews what it holds (current + prefetched) while its answers land, as the
    browser does; MariaDB deadlocked on this when the renew scanned the reserved_by index."""
    with engine.begin() as conn:
        user = factories.user(conn)
        project = factories.project(conn, user)
        image = factories.image(conn, project, status="done")
        for _ in range(60):
            factories.face(conn, project, image)
    with engine.begin() as conn:
        window = [f.id for f in queue.next_faces(conn, project, user, 5)]
    errors: list[Exception] = []
    done = threading.Event()

    def renewer():
        try:
            while not done.is_set():
                with engine.begin() as conn:
                    queue.next_faces(conn, project, user, 0, held=list(window))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=renewer)
    thread.start()
    answered = []
    try:
        for _ in range(40):
            face_id = window.pop(0)
            with engine.begin() as conn:
                decisions.record(conn, project_id=project, face_id=face_id, user_id=user,
                                 answer="yes")
                window += [f.id for f in queue.next_faces(conn, project, user, 1,
                                                            held=list(window))]
            answered.append(face_id)
    finally:
        done.set()
        thread.join()
    assert not errors
    with engine.connect() as conn:
        labelled = conn.execute(select(faces.c.id).where(faces.c.label == "yes")).scalars()
        assert sorted(labelled) == sorted(answered)
