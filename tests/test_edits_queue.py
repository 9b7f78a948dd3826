"""The edit queue on a real database (SQLite, or MariaDB with LIKENESS_TEST_DATABASE_URL):
what a project wants, one row per (file, Q-id), one user's edits one at a time, pacing,
leases, undo and rejected faces."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select, update

from likeness.db import edit_reports as reports
from likeness.db import edits as edit_rows
from likeness.db.schema import edits, faces, utcnow
from likeness.edits import plan
from tests import factories as f


def _face(conn, project_id, image_id, box=(0.1, 0.2, 0.3, 0.4), **values):
    face_id = f.face(conn, project_id, image_id, **values)
    left, top, width, height = box
    conn.execute(update(faces).where(faces.c.id == face_id).values(
        box_left=left, box_top=top, box_width=width, box_height=height))
    return face_id


def _confirmed(conn, project_id, user_id, page_id, box=(0.1, 0.2, 0.3, 0.4), via="classify",
               answer="yes"):
    image_id = f.image(conn, project_id, page_id=page_id)
    face_id = _face(conn, project_id, image_id, box, label="yes")
    conn.execute(f.schema.decisions.insert().values(face_id=face_id, project_id=project_id,
                                                    user_id=user_id, answer=answer, via=via))
    return image_id, face_id


def test_wanted_edits_only_human_confirmed_one_per_file_largest_box(engine):
    with engine.begin() as conn:
        owner = f.user(conn)
        project = f.project(conn, owner, qid="Q42")
        image_id, small = _confirmed(conn, project, owner, 101, box=(0.1, 0.1, 0.1, 0.1))
        large = _face(conn, project, image_id, (0.5, 0.2, 0.25, 0.3), label="yes")
        f.decision(conn, large, project, owner, "approve")
        _confirmed(conn, project, owner, 102, via="seed")          # provisional only
        proposal_image = f.image(conn, project, page_id=103)
        f.face(conn, project, proposal_image, score=0.99)           # a model proposal
        wanted = plan.wanted_edits(conn, project, "Q42")
    assert [(w.page_id, w.face_id, w.region) for w in wanted] == [
        (101, large, "pct:50,20,25,30")]


def test_a_pair_is_queued_once_across_projects(engine):
    with engine.begin() as conn:
        owner, other = f.user(conn), f.user(conn)
        first = f.project(conn, owner, qid="Q42")
        second = f.project(conn, other, qid="Q42", category="Other")
        _confirmed(conn, first, owner, 201)
        _confirmed(conn, first, owner, 202)
        _confirmed(conn, second, other, 201)
        batch1, r1 = plan.queue_project(conn, first, owner)
        batch2, r2 = plan.queue_project(conn, second, other)
        _, again = plan.queue_project(conn, first, owner)
        rows = conn.execute(select(edits.c.page_id, edits.c.project_id, edits.c.batch_id)
                            .order_by(edits.c.page_id)).all()
    assert (r1.queued, r1.existing) == (2, 0)
    assert (r2.queued, r2.existing) == (0, 1)
    assert (again.queued, again.existing) == (0, 2)
    assert [tuple(r) for r in rows] == [(201, first, batch1), (202, first, batch1)]
    assert batch1 != batch2 and len(batch1) == 12


def test_preview_counts_and_pages_the_new_statements(engine):
    with engine.begin() as conn:
        owner = f.user(conn)
        project = f.project(conn, owner, qid="Q42")
        for page in (301, 302, 303):
            _confirmed(conn, project, owner, page)
        plan.queue_project(conn, project, owner)
        for page in (304, 305, 306):
            _confirmed(conn, project, owner, page)
        preview = plan.preview(conn, project)
    assert preview.count == 3 and preview.already == 3 and preview.undone == 0
    first, cursor = preview.after(None, 2)
    assert [(i.page_id, i.region) for i in first] == [(304, "pct:10,20,30,40"),
                                                      (305, "pct:10,20,30,40")]
    rest, end = preview.after(cursor, 2)
    assert cursor == 305 and [i.page_id for i in rest] == [306] and end is None


def _queue(conn, project, user, pages, qid="Q42"):
    wanted = [edit_rows.Wanted(p, f"File:P{p}.jpg", qid, None, "pct:1,2,3,4") for p in pages]
    return edit_rows.queue(conn, wanted, project_id=project, user_id=user, batch_id="b")


def test_one_user_one_edit_at_a_time_others_go_ahead(engine):
    with engine.begin() as conn:
        alice, bob = f.user(conn), f.user(conn)
        project = f.project(conn, alice)
        _queue(conn, project, alice, [1, 2, 3])
        _queue(conn, project, bob, [4])
    with engine.begin() as conn:
        first = edit_rows.claim_next(conn, "w1", 60)
    with engine.begin() as conn:
        second = edit_rows.claim_next(conn, "w2", 60)
    with engine.begin() as conn:
        third = edit_rows.claim_next(conn, "w3", 60)
    assert first.page_id == 1 and first.state == "sending" and first.attempts == 1
    assert second.page_id == 4        # alice is busy, bob is not
    assert third is None
    with engine.begin() as conn:
        assert edit_rows.mark_done(conn, first.id, "w1", action="add", statement_id="M1$X",
                                   revision_id=5, written_json="{}", created_statement=True,
                                   pace_seconds=60)
        assert edit_rows.claim_next(conn, "w3", 60) is None     # paced
        later = utcnow() + dt.timedelta(seconds=61)
        assert edit_rows.claim_next(conn, "w3", 60, now=later).page_id == 2


def test_expired_lease_is_claimed_again_and_counts_the_attempt(engine):
    with engine.begin() as conn:
        alice = f.user(conn)
        project = f.project(conn, alice)
        _queue(conn, project, alice, [1])
    with engine.begin() as conn:
        claimed = edit_rows.claim_next(conn, "dead", 30)
    with engine.begin() as conn:
        assert edit_rows.claim_next(conn, "w2", 30) is None
        later = utcnow() + dt.timedelta(seconds=31)
        again = edit_rows.claim_next(conn, "w2", 30, now=later)
        # The dead worker can no longer record anything for it.
        assert not edit_rows.mark_failed(conn, claimed.id, "dead", code="x", message="x",
                                         retryable=True)
    assert again.id == claimed.id and again.attempts == 2 and again.lease_owner == "w2"


def test_postponed_edit_holds_back_the_users_queue(engine):
    with engine.begin() as conn:
        alice = f.user(conn)
        project = f.project(conn, alice)
        _queue(conn, project, alice, [1, 2])
        claimed = edit_rows.claim_next(conn, "w1", 30)
        edit_rows.postpone(conn, claimed.id, "w1", until=utcnow() + dt.timedelta(seconds=5),
                           code="maxlag", message="lag")
        assert edit_rows.claim_next(conn, "w1", 30) is None
        later = utcnow() + dt.timedelta(seconds=6)
        assert edit_rows.claim_next(conn, "w1", 30, now=later).id == claimed.id


def test_concurrent_claims_never_give_one_user_two_edits(engine):
    with engine.begin() as conn:
        alice = f.user(conn)
        project = f.project(conn, alice)
        _queue(conn, project, alice, list(range(1, 21)))
    got: list[int] = []
    barrier = threading.Barrier(4)

    def claim(name: str) -> None:
        barrier.wait()
        for _ in range(5):
            with engine.begin() as conn:
                edit = edit_rows.claim_next(conn, name, 60)
            if edit is not None:
                got.append(edit.id)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 1


def test_undo_turns_only_our_written_statements_into_removals(engine):
    with engine.begin() as conn:
        owner = f.user(conn)
        project = f.project(conn, owner)
        _queue(conn, project, owner, [1, 2, 3, 4])
        rows = {r.page_id: r.id for r in conn.execute(select(edits.c.id, edits.c.page_id))}
        conn.execute(update(edits).where(edits.c.id == rows[1]).values(
            state="done", created_statement=True, statement_id="M1$A"))
        conn.execute(update(edits).where(edits.c.id == rows[2]).values(
            state="done", action="qualify", created_statement=False))
        conn.execute(update(edits).where(edits.c.id == rows[3]).values(
            state="skipped", created_statement=False))
        n = edit_rows.queue_undo(conn, project, owner, "undo1")
        states = {r.page_id: (r.action, r.state) for r in conn.execute(select(edits))}
    assert n == 1
    assert states == {1: ("remove", "pending"), 2: ("qualify", "done"),
                      3: ("add", "skipped"), 4: ("add", "cancelled")}


def test_rejected_face_queues_removal_unless_another_confirmed_face_remains(engine):
    with engine.begin() as conn:
        owner = f.user(conn)
        project = f.project(conn, owner, qid="Q42")
        _, face_a = _confirmed(conn, project, owner, 501)
        image_b, face_b = _confirmed(conn, project, owner, 502)
        face_b2 = f.face(conn, project, image_b, label="yes")   # a second face, still 'yes'
        f.decision(conn, face_b2, project, owner, "yes")
        plan.queue_project(conn, project, owner)
        conn.execute(update(edits).values(state="done", created_statement=True))
        conn.execute(update(faces).where(faces.c.id.in_([face_a, face_b])).values(label="no"))
        n = edit_rows.queue_removals_for_rejected(conn)
        states = {r.page_id: (r.action, r.state) for r in conn.execute(select(edits))}
    assert n == 1
    assert states == {501: ("remove", "pending"), 502: ("add", "done")}
    with engine.begin() as conn:
        conn.execute(update(faces).where(faces.c.id == face_b2).values(label="not_face"))
        assert edit_rows.queue_removals_for_rejected(conn) == 1


def test_progress_counts_every_state(engine):
    with engine.begin() as conn:
        owner = f.user(conn)
        project = f.project(conn, owner)
        _queue(conn, project, owner, [1, 2])
        claimed = edit_rows.claim_next(conn, "w", 30)
        edit_rows.mark_failed(conn, claimed.id, "w", code="permissiondenied", message="no",
                              retryable=False)
        counts = reports.counts(conn, project, "Q42")
        failed, _ = reports.page(conn, project, "Q42", "failed")
        retried = edit_rows.retry_failed(conn, project, owner, "b2")
    assert counts["pending"] == 1 and counts["failed"] == 1 and counts["done"] == 0
    assert failed[0].error_code == "permissiondenied" and failed[0].retryable is False
    assert retried == 1


def test_claim_while_another_claim_of_the_same_user_is_uncommitted(engine):
    """The interleaving that matters: worker A has claimed (not yet committed) when worker B
    looks. B must not take the user's next edit (MariaDB: the users-row lock; SQLite: B waits
    for A's write lock and then sees A's 'sending')."""
    with engine.begin() as conn:
        alice = f.user(conn)
        project = f.project(conn, alice)
        _queue(conn, project, alice, [1, 2, 3])
    result: list = []
    with engine.connect() as conn_a:
        trans = conn_a.begin()
        first = edit_rows.claim_next(conn_a, "A", 60)

        def claim_b() -> None:
            with engine.begin() as conn_b:
                result.append(edit_rows.claim_next(conn_b, "B", 60))

        thread = threading.Thread(target=claim_b)
        thread.start()
        thread.join(0.5)              # MariaDB: B answers at once; SQLite: B waits for A
        trans.commit()
    thread.join(30)
    assert first is not None and first.page_id == 1
    assert result == [None]
