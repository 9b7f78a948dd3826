"""Edits across projects and people: a second project on the same person sees the edits its
faces back; what is written with a user's token comes only from decisions in projects that
user belongs to (or that share knowledge with hers), never from an outsider's answers; undoing
a batch says what it does, and an undone edit is offered again only after a new human yes.
The sender cases run against the stand-in over real HTTP."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from likeness.db import edit_reports as reports
from likeness.db import edits as edit_rows
from likeness.db import members
from likeness.db.schema import decisions, edits, faces, images, projects
from likeness.edits import plan
from likeness.edits.sender import Sender
from tests import factories as f
from tests.fixtures.edits import TARGET_QID, statement_region

QID = "Q42"


def _confirmed(conn, project_id, user_id, page_id, box=(0.1, 0.2, 0.3, 0.4), answer="yes"):
    image_id = conn.execute(select(images.c.id).where(
        images.c.project_id == project_id, images.c.page_id == page_id)).scalar()
    if image_id is None:
        image_id = f.image(conn, project_id, page_id=page_id, thumb_url=f"/t/{page_id}.jpg")
    face_id = f.face(conn, project_id, image_id, label="yes")
    left, top, width, height = box
    conn.execute(update(faces).where(faces.c.id == face_id).values(
        box_left=left, box_top=top, box_width=width, box_height=height))
    f.decision(conn, face_id, project_id, user_id, answer)
    return face_id


def _preview(conn, project_id):
    """plan.preview, checked against the counts the page polls (aggregated in SQL)."""
    preview = plan.preview(conn, project_id)
    qid = conn.execute(select(projects.c.qid).where(projects.c.id == project_id)).scalar()
    assert edit_rows.send_counts(conn, project_id, qid) == {
        "new": preview.count, "already": preview.already, "undone": preview.undone}
    return preview


# --- a second project on the same person ------------------------------------------------------

def test_a_second_project_sees_the_edits_its_faces_back_with_sender_and_time(engine):
    with engine.begin() as conn:
        anna, ben = f.user(conn, "Anna"), f.user(conn, "Ben")
        first = f.project(conn, anna, qid=QID)
        second = f.project(conn, ben, qid=QID, category="Other")
        for page in (1, 2, 3):
            _confirmed(conn, first, anna, page)
        for page in (2, 3, 4):
            _confirmed(conn, second, ben, page)
        plan.queue_project(conn, first, anna, "aaaaaaaaaaaa")
        conn.execute(update(edits).where(edits.c.page_id == 2).values(
            state="done", revision_id=77, created_statement=True))
        preview = _preview(conn, second)
        counts = reports.counts(conn, second, QID)
        done, _ = reports.page(conn, second, QID, "written")
        queued, _ = reports.page(conn, second, QID, "open")
        other_person = f.project(conn, ben, qid="Q1", category="Third")
        assert reports.counts(conn, other_person, "Q1")["done"] == 0
    # Files 2 and 3 are covered by Anna's edits; only file 4 is new for Ben.
    assert [i.page_id for i in preview.new] == [4] and preview.already == 2
    assert counts["done"] == 1 and counts["pending"] == 1 and counts["elsewhere"] == 2
    (row,) = done
    assert (row.page_id, row.sender, row.project_id, row.revision_id) == (2, "Anna", first, 77)
    assert row.thumb_url == "/t/2.jpg"            # Ben's own thumbnail of the file
    assert [r.page_id for r in queued] == [3]


def test_lists_page_with_a_cursor(engine):
    with engine.begin() as conn:
        owner = f.user(conn)
        project = f.project(conn, owner, qid=QID)
        for page in range(1, 8):
            _confirmed(conn, project, owner, page)
        plan.queue_project(conn, project, owner)
        seen, cursor = [], None
        while True:
            rows, cursor = reports.page(conn, project, QID, "open", after=cursor, limit=3)
            seen.append([r.page_id for r in rows])
            if cursor is None:
                break
    assert seen == [[1, 2, 3], [4, 5, 6], [7]]


# --- whose decisions may be written with whose token -------------------------------------------

def test_an_outsiders_confirmed_face_does_not_block_the_removal_after_a_rejection(engine):
    with engine.begin() as conn:
        owner, outsider = f.user(conn), f.user(conn)
        project = f.project(conn, owner, qid=QID)
        hers = f.project(conn, outsider, qid=QID, category="Hers")
        face = _confirmed(conn, project, owner, 9)
        _confirmed(conn, hers, outsider, 9)          # her own project, same file and person
        plan.queue_project(conn, project, owner)
        conn.execute(update(edits).values(state="done", created_statement=True))
        conn.execute(update(faces).where(faces.c.id == face).values(label="no"))
        assert edit_rows.queue_removals_for_rejected(conn) == 1
        row = edit_rows.for_pair(conn, 9, QID)
    assert (row.action, row.state, row.user_id) == ("remove", "pending", owner)


def test_a_confirmed_face_in_a_project_the_sender_belongs_to_keeps_the_statement(engine):
    with engine.begin() as conn:
        owner, other = f.user(conn), f.user(conn)
        project = f.project(conn, owner, qid=QID)
        theirs = f.project(conn, other, qid=QID, category="Theirs")
        members.add(conn, theirs, owner, "labeller")
        face = _confirmed(conn, project, owner, 9)
        _confirmed(conn, theirs, other, 9)
        plan.queue_project(conn, project, owner)
        conn.execute(update(edits).values(state="done", created_statement=True))
        conn.execute(update(faces).where(faces.c.id == face).values(label="no"))
        assert edit_rows.queue_removals_for_rejected(conn) == 0


def test_sharing_projects_trust_each_other_only_when_both_opt_in(engine):
    with engine.begin() as conn:
        owner, outsider = f.user(conn), f.user(conn)
        project = f.project(conn, owner, qid=QID, share_knowledge=True)
        hers = f.project(conn, outsider, qid=QID, category="Hers")
        _confirmed(conn, hers, outsider, 9)
        assert edit_rows.confirmed_faces_for_pair(conn, 9, QID, owner, project) == []
        conn.execute(update(projects).where(projects.c.id == hers)
                     .values(share_knowledge=True))
        assert len(edit_rows.confirmed_faces_for_pair(conn, 9, QID, owner, project)) == 1
        conn.execute(update(projects).where(projects.c.id == project)
                     .values(share_knowledge=False))
        assert edit_rows.confirmed_faces_for_pair(conn, 9, QID, owner, project) == []


def test_an_outsider_cannot_steer_the_region_written_with_the_owners_token(edits_env):
    """The issue's case: the owner's face is rejected after queueing; an outsider confirmed a
    bigger face of the person on the same file in her own project. Nothing is written."""
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    face = env.confirm(page.title, box=(0.1, 0.1, 0.2, 0.2))
    with env.engine.begin() as conn:
        outsider = f.user(conn, "Outsider")
        hers = f.project(conn, outsider, qid=TARGET_QID, category="Hers", status="paused")
    env.confirm(page.title, box=(0.5, 0.5, 0.45, 0.45), project_id=hers)
    with env.engine.begin() as conn:
        conn.execute(update(decisions).where(decisions.c.project_id == hers)
                     .values(user_id=outsider))
        plan.queue_project(conn, env.project_id, env.user_id)
        conn.execute(update(faces).where(faces.c.id == face).values(label="no"))
        edit = edit_rows.claim_next(conn, "w", 60)
    start = env.seq()
    assert Sender(env.engine, env.cfg, "w").send(edit) == "cancelled"
    assert env.posts(start) == [] and env.depicts(page.pageid) == []


def test_a_members_other_confirmed_face_replaces_a_rejected_one(edits_env):
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    face = env.confirm(page.title, box=(0.1, 0.1, 0.2, 0.2))
    env.confirm(page.title, box=(0.5, 0.5, 0.25, 0.25))      # same project, the owner's yes
    with env.engine.begin() as conn:
        plan.queue_project(conn, env.project_id, env.user_id)
        # The larger face was chosen; the owner rejects it before sending.
        chosen = edit_rows.for_pair(conn, page.pageid, TARGET_QID).face_id
        conn.execute(update(faces).where(faces.c.id == chosen).values(label="no"))
        edit = edit_rows.claim_next(conn, "w", 60)
    assert Sender(env.engine, env.cfg, "w").send(edit) == "done"
    (statement,) = env.depicts(page.pageid)
    assert statement_region(statement) == "pct:10,10,20,20"
    with env.engine.connect() as conn:
        assert edit_rows.for_pair(conn, page.pageid, TARGET_QID).face_id == face


# --- cancel, undo of a batch, and what is offered again ----------------------------------------

def test_cancel_stops_queued_additions_and_send_offers_them_again(engine):
    with engine.begin() as conn:
        owner = f.user(conn)
        project = f.project(conn, owner, qid=QID)
        for page in (1, 2):
            _confirmed(conn, project, owner, page)
        batch, _ = plan.queue_project(conn, project, owner)
        claimed = edit_rows.claim_next(conn, "w", 60)         # one is in flight
        assert edit_rows.cancel_pending(conn, project, "other-batch") == 0
        assert edit_rows.cancel_pending(conn, project, batch) == 1
        assert edit_rows.for_pair(conn, claimed.page_id, QID).state == "sending"
        assert _preview(conn, project).count == 1             # offered again
        _, again = plan.queue_project(conn, project, owner)
    assert again.queued == 1


def test_undo_plan_then_undo_of_one_batch_and_no_reoffer_without_a_new_yes(engine):
    with engine.begin() as conn:
        owner = f.user(conn)
        project = f.project(conn, owner, qid=QID)
        first_faces = {page: _confirmed(conn, project, owner, page) for page in (1, 2, 3)}
        first, _ = plan.queue_project(conn, project, owner, "aaaaaaaaaaaa")
        _confirmed(conn, project, owner, 4)
        second, _ = plan.queue_project(conn, project, owner, "bbbbbbbbbbbb")
        conn.execute(update(edits).where(edits.c.page_id.in_([1, 2])).values(
            state="done", created_statement=True, statement_id="M$x"))
        conn.execute(update(edits).where(edits.c.page_id == 4).values(
            state="done", created_statement=True))
        undo = reports.undo_plan(conn, project, first)
        assert (undo.remove, undo.cancel, undo.in_flight, undo.kept) == (2, 1, 0, 0)
        assert [r.page_id for r in undo.files] == [1, 2]
        assert edit_rows.queue_undo(conn, project, owner, "cccccccccccc", undo_of=first) == 2
        states = {r.page_id: (r.action, r.state, r.batch_id) for r in
                  conn.execute(select(edits.c.page_id, edits.c.action, edits.c.state,
                                      edits.c.batch_id))}
        assert states == {1: ("remove", "pending", "cccccccccccc"),
                          2: ("remove", "pending", "cccccccccccc"),
                          3: ("add", "cancelled", first), 4: ("add", "done", second)}
        conn.execute(update(edits).where(edits.c.page_id.in_([1, 2])).values(state="done"))
        # Not offered again, and 'Send' does not queue them again either.
        preview = _preview(conn, project)
        assert preview.count == 0 and preview.undone == 3 and preview.already == 1
        assert plan.queue_project(conn, project, owner)[1].queued == 0
        # A person confirms the face on file 1 again (a new decision): only that one returns.
        f.decision(conn, first_faces[1], project, owner, "yes")
        assert [i.page_id for i in _preview(conn, project).new] == [1]
        assert plan.queue_project(conn, project, owner)[1].queued == 1
        row = edit_rows.for_pair(conn, 1, QID)
    assert (row.action, row.state, row.undo_decision_id) == ("add", "pending", None)


def test_batches_list_counts_per_group_newest_first(engine):
    with engine.begin() as conn:
        owner = f.user(conn, "Owner")
        project = f.project(conn, owner, qid=QID)
        for page in (1, 2):
            _confirmed(conn, project, owner, page)
        plan.queue_project(conn, project, owner, "aaaaaaaaaaaa")
        _confirmed(conn, project, owner, 3)
        plan.queue_project(conn, project, owner, "bbbbbbbbbbbb")
        conn.execute(update(edits).where(edits.c.page_id == 1).values(state="done"))
        conn.execute(update(edits).where(edits.c.page_id == 2).values(
            state="failed", error_code="permissiondenied"))
        conn.execute(insert(edits).values(page_id=99, qid=QID, title="File:X.jpg",
                                          project_id=project, state="done", batch_id=None))
        first_page, cursor = reports.batches(conn, project, limit=1)
        second_page, end = reports.batches(conn, project, before=cursor, limit=1)
        assert reports.batches(conn, project, before=second_page[0].cursor) == ([], None)
    assert [(b.batch_id, b.counts, b.sender) for b in first_page] == [
        ("bbbbbbbbbbbb", {"open": 1}, "Owner")]
    assert [(b.batch_id, b.counts, b.total) for b in second_page] == [
        ("aaaaaaaaaaaa", {"written": 1, "failed": 1}, 2)]
    assert end is None


def test_the_second_projects_overview_counts_the_edits_its_faces_back(web_app, engine):
    """The issue's "written 0/0" with 20 confirmed faces: the progress bar counts them."""
    from tests.fixtures.web import login

    with engine.begin() as conn:
        anna, ben = f.user(conn, "Anna"), f.user(conn, "Ben")
        first = f.project(conn, anna, qid=QID)
        second = f.project(conn, ben, qid=QID, category="Other")
        for page in (1, 2, 3):
            _confirmed(conn, first, anna, page)
            _confirmed(conn, second, ben, page)
        plan.queue_project(conn, first, anna)
        conn.execute(update(edits).where(edits.c.page_id.in_([1, 2])).values(state="done"))
    client = web_app.test_client()
    login(client, ben)
    bars = {b["key"]: b for b in client.get(f"/api/projects/{second}/progress").get_json()["bars"]}
    assert (bars["written"]["value"], bars["written"]["max"]) == (2, 3)
