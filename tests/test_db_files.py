"""Detect once per Commons file (likeness.db.files, faces_store): one claim per file, the
detections shared by every project's image of it, re-uploads superseding a version's faces
everywhere while every answer stays, sha1 checks, and retention per project."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from likeness.db import boxes, faces_store
from likeness.db import files as file_rows
from likeness.db import images as image_rows
from likeness.db import projects as projects_db
from likeness.db.files import ThumbInfo
from likeness.db.images import FoundFile
from likeness.db.schema import decisions, detections, faces, files, images, utcnow
from likeness.faces.types import Box, DetectedFace
from tests import factories

THUMB = ThumbInfo("http://upload.test/a.jpg", 1280, 960, "image/jpeg", 4000, 3000)
OLD, NEW = "a" * 40, "b" * 40


def _face(n: int) -> DetectedFace:
    return DetectedFace(Box(0.1 * n, 0.1, 0.05, 0.05), bytes([n]) * 512, 1.0)


def _projects(conn, n: int = 2) -> list[int]:
    owner = factories.user(conn)
    return [factories.project(conn, owner, category=f"C{i}") for i in range(n)]


def _count(conn, table, *where) -> int:
    return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _detect(conn, page_id: int, detected, sha1: str, owner: str = "w",
            image_id: int | None = None):
    """A worker's detection of the file, linked to its own image and every waiting one."""
    claim = file_rows.claim(conn, page_id, f"File:{page_id}.jpg", sha1, owner, 60)
    assert claim.outcome == "mine", claim
    state = file_rows.finish_detection(conn, claim.file.id, owner, sha1, THUMB, len(detected))
    superseded = faces_store.store_detections(conn, state, detected, claim.file.sha1)
    return state, faces_store.link_everywhere(conn, state, owner, image_id, superseded)


def test_a_second_project_gets_the_faces_without_a_detection(engine):
    with engine.begin() as conn:
        first, second = _projects(conn)
        for project_id in (first, second):
            image_rows.add_found(conn, project_id, [FoundFile(1, "File:1.jpg")])
        (mine,) = image_rows.claim_pending(conn, "w", 60, 1)
        assert mine.project_id == first
        state, linked = _detect(conn, 1, [_face(1), _face(2)], OLD, image_id=mine.id)
        # One detection, linked to both projects' images at once.
        assert sorted((x.project_id, x.faces) for x in linked) == [(first, 2), (second, 2)]
        assert _count(conn, detections) == 2
        assert _count(conn, faces) == 4 and _count(conn, images, images.c.status == "done") == 2
        rows = conn.execute(select(faces.c.project_id, faces.c.detection_id)).all()
        assert {d for _, d in rows if _ == first} == {d for _, d in rows if _ == second}
        # A third project including the file later: linked, the file is current.
        third = _projects(conn, 1)[0]
        image_rows.add_found(conn, third, [FoundFile(1, "File:1.jpg")])
        (later,) = image_rows.claim_pending(conn, "w", 60, 1)
        claim = file_rows.claim(conn, 1, "File:1.jpg", OLD, "w", 60)
        assert claim.outcome == "current"
        assert faces_store.link(conn, later.id, claim.file, owner="w").faces == 2
        assert _count(conn, detections) == 2   # still only the first detection's


def test_one_worker_at_a_time_detects_a_file(engine):
    with engine.begin() as conn:
        assert file_rows.claim(conn, 5, "File:5.jpg", OLD, "w1", 60).outcome == "mine"
    with engine.begin() as conn:  # w2 holds another project's image of it: it waits
        assert file_rows.claim(conn, 5, "File:5.jpg", OLD, "w2", 60).outcome == "busy"
        assert file_rows.claim(conn, 5, "File:5.jpg", OLD, "w1", 60).outcome == "busy"
    with engine.begin() as conn:  # w1 died: its lease expires and w2 takes over
        conn.execute(update(files).values(lease_until=utcnow() - dt.timedelta(seconds=1)))
        claim = file_rows.claim(conn, 5, "File:5.jpg", OLD, "w2", 60)
        assert claim.outcome == "mine"
        assert file_rows.finish_detection(conn, claim.file.id, "w1", OLD, THUMB, 0) is None
        assert file_rows.finish_detection(conn, claim.file.id, "w2", OLD, THUMB, 0) is not None
    with engine.begin() as conn:
        assert file_rows.claim(conn, 5, "File:5.jpg", OLD, "w3", 60).outcome == "current"
        assert file_rows.claim(conn, 5, "File:5.jpg", NEW, "w3", 60).outcome == "mine"


def test_a_reupload_supersedes_the_old_faces_everywhere_and_keeps_every_answer(engine):
    with engine.begin() as conn:
        first, second = _projects(conn)
        user = factories.user(conn)
        for project_id in (first, second):
            image_rows.add_found(conn, project_id, [FoundFile(1, "File:1.jpg")])
        _detect(conn, 1, [_face(1), _face(2)], OLD)
        answered, skipped = conn.execute(
            select(faces.c.id).order_by(faces.c.project_id, faces.c.box_left)).scalars().all()[:2]
        conn.execute(update(faces).where(faces.c.id == answered).values(label="yes"))
        factories.decision(conn, answered, first, user, "yes")
        factories.decision(conn, skipped, first, user, "skip")   # a skip is an answer too
        old_detections = set(conn.execute(select(detections.c.id)).scalars())
    with engine.begin() as conn:
        (image,) = [i for i in conn.execute(select(images.c.id)).scalars()][:1]
        conn.execute(update(images).where(images.c.id == image).values(
            status="pending", lease_owner="w", lease_until=utcnow() + dt.timedelta(minutes=1)))
        state, linked = _detect(conn, 1, [_face(3)], NEW, image_id=image)
        assert sorted(x.faces for x in linked) == [1, 1]        # both projects, new version
    with engine.connect() as conn:
        by_id = {r.id: r for r in conn.execute(select(faces))}
        assert by_id[answered].state == by_id[skipped].state == "superseded"
        # The old version's faces nobody answered are gone (ids may be reused on SQLite).
        on_old = {r.id for r in by_id.values() if r.detection_id in old_detections}
        assert on_old == {answered, skipped}
        assert _count(conn, decisions) == 2                      # every answer stays
        active = [r for r in by_id.values() if r.state == "active"]
        assert len(active) == 2 and {round(r.box_left, 6) for r in active} == {0.3}
        old = conn.execute(select(detections.c.encoding).where(
            detections.c.id.in_(old_detections))).scalars().all()
        assert old == [None, None]                               # nobody needs them now
        assert conn.execute(select(files.c.sha1)).scalar_one() == NEW
        # The classify page's context boxes show the new version's face only.
        image_of = conn.execute(select(faces.c.image_id, faces.c.project_id)
                                .where(faces.c.id == answered)).one()
        shown = boxes.image_faces(conn, image_of.project_id, image_of.image_id)
        assert [b["state"] for b in shown] == ["active"]


def test_sha1_checks_requeue_a_reuploaded_file_in_every_project(engine):
    with engine.begin() as conn:
        first, second = _projects(conn)
        for project_id in (first, second):
            image_rows.add_found(conn, project_id, [FoundFile(1, "File:1.jpg"),
                                                    FoundFile(2, "File:2.jpg")])
        _detect(conn, 1, [_face(1)], OLD)
        _detect(conn, 2, [_face(1)], OLD)
        long_ago = utcnow() - dt.timedelta(days=2)
        conn.execute(update(files).values(checked_at=long_ago))
        due = file_rows.due_for_check(conn, first, utcnow() - dt.timedelta(days=1), 10)
        assert sorted(page for _, page in due) == [1, 2]
        assert file_rows.current(conn, [1, 2], utcnow() - dt.timedelta(days=1)) == {}
        assert file_rows.record_checks(conn, {1: OLD, 2: NEW}) == [2]
        status = dict(conn.execute(select(images.c.page_id, images.c.status)
                                   .where(images.c.project_id == second)).all())
        assert status == {1: "done", 2: "pending"}
        assert set(file_rows.current(conn, [1, 2], utcnow() - dt.timedelta(days=1))) == {1}
        assert file_rows.due_for_check(conn, first, utcnow() - dt.timedelta(days=1), 10) == []


def test_a_file_detected_before_sha1s_were_kept_adopts_the_current_one(engine):
    with engine.begin() as conn:
        (project_id,) = _projects(conn, 1)
        image_id = factories.image(conn, project_id, page_id=9, status="done")
        factories.face(conn, project_id, image_id)                 # as migration 0007 left it
        conn.execute(update(files).values(detected_at=utcnow()))
        claim = file_rows.claim(conn, 9, "File:9.jpg", NEW, "w", 60)
        assert claim.outcome == "current" and claim.file.sha1 == NEW
        assert conn.execute(select(detections.c.sha1)).scalars().all() == [NEW]


def test_a_drawn_box_keeps_its_file_and_outlives_a_new_detection_of_the_same_version(engine):
    """The detector found nobody, so someone drew the face: that box is the only thing that
    uses the file. Deleting another project keeps its encoding, and detecting the same
    version again (for a newcomer) leaves it alone."""
    with engine.begin() as conn:
        leaving, drawing = _projects(conn)
        empty = factories.detect(conn, 3, [], sha1=OLD)
        image = {}
        for project_id in (leaving, drawing):
            image[project_id] = factories.image(conn, project_id, page_id=3)
            faces_store.link(conn, image[project_id], empty)
        drawn = factories.face(conn, drawing, image[drawing], source="manual")
        projects_db.delete_project(conn, leaving)

        def drawn_state():
            return conn.execute(select(faces.c.state, detections.c.encoding)
                                .join(detections, detections.c.id == faces.c.detection_id)
                                .where(faces.c.id == drawn)).one()

        assert drawn_state().encoding is not None
        assert conn.execute(select(files.c.detected_at)).scalar_one() is not None
        conn.execute(update(files).values(detected_at=None))   # as if erased meanwhile
        newcomer = _projects(conn, 1)[0]
        again = factories.detect(conn, 3, [_face(1)], sha1=OLD)
        faces_store.link(conn, factories.image(conn, newcomer, page_id=3), again)
        assert drawn_state().state == "active" and drawn_state().encoding is not None
