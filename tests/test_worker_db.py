"""The worker's query layer: found files once, leased claims, lease-guarded idempotent stores,
failures with backoff, deferrals, web-app retries and progress counts; and the retry policy.
(Detecting a file once for every project: tests/test_db_files.py.)"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from likeness.db import faces_store
from likeness.db import files as file_rows
from likeness.db import images as image_rows
from likeness.db.files import ThumbInfo
from likeness.db.images import FoundFile
from likeness.db.schema import faces, images, projects, utcnow
from likeness.faces.types import Box, DetectedFace
from likeness.retry import Failure, RetryPolicy
from tests import factories

THUMB = ThumbInfo("http://upload.test/x.jpg", 1280, 960, "image/jpeg", 4000, 3000)


def _face(n: int) -> DetectedFace:
    return DetectedFace(Box(0.1 * n, 0.1, 0.05, 0.05), bytes(512), 1.0)


def _project(conn, **values) -> int:
    return factories.project(conn, factories.user(conn), **values)


def record_done(conn, image, owner: str, detected, sha1: str = "a" * 40) -> bool:
    """What the worker does with a detection result for a claimed image: detect its file (a
    new version, under the file's lease) and link the image; False if nothing was written."""
    claim = file_rows.claim(conn, image.page_id, image.title, sha1, owner, 60)
    if claim.outcome == "mine":
        state = file_rows.finish_detection(conn, claim.file.id, owner, sha1, THUMB,
                                           len(detected))
        if state is None:
            return False
        faces_store.store_detections(conn, state, detected, claim.file.sha1)
    else:
        state = claim.file
    return faces_store.link(conn, image.id, state, owner=owner) is not None


def test_found_files_are_stored_once(engine):
    with engine.begin() as conn:
        project_id = _project(conn)
        files = [FoundFile(1, "File:A.jpg"), FoundFile(2, "File:B.jpg"), FoundFile(1, "File:A.jpg")]
        assert image_rows.add_found(conn, project_id, files) == 2
        assert image_rows.add_found(conn, project_id, [FoundFile(2, "File:B.jpg"),
                                                       FoundFile(3, "File:C.jpg")]) == 1
        assert conn.execute(select(func.count()).select_from(images)).scalar_one() == 3


def test_claims_are_disjoint_leased_and_skip_inactive_or_later_images(engine):
    with engine.begin() as conn:
        active = _project(conn)
        paused = _project(conn, status="paused")
        image_rows.add_found(conn, active, [FoundFile(n, f"File:{n}.jpg") for n in range(6)])
        image_rows.add_found(conn, paused, [FoundFile(9, "File:9.jpg")])
        conn.execute(update(images).where(images.c.page_id == 5).values(
            next_try_at=utcnow() + dt.timedelta(hours=1)))
    with engine.begin() as conn:
        first = image_rows.claim_pending(conn, "w1", 60, 3)
    with engine.begin() as conn:
        second = image_rows.claim_pending(conn, "w2", 60, 10)
    ids_1, ids_2 = {c.id for c in first}, {c.id for c in second}
    assert len(ids_1) == 3 and len(ids_2) == 2 and not ids_1 & ids_2
    assert {c.page_id for c in first + second} == {0, 1, 2, 3, 4}
    with engine.begin() as conn:  # w1 dies: its leases expire and w2 takes them over
        conn.execute(update(images).where(images.c.id.in_(ids_1)).values(
            lease_until=utcnow() - dt.timedelta(seconds=1)))
        taken = image_rows.claim_pending(conn, "w2", 60, 10)
        assert {c.id for c in taken} == ids_1
        assert image_rows.renew(conn, list(ids_1), "w1", 60) == 0  # w1 lost them
        assert image_rows.renew(conn, list(ids_1), "w2", 60) == 3


def test_storing_is_lease_guarded_and_idempotent(engine):
    with engine.begin() as conn:
        project_id = _project(conn)
        image_rows.add_found(conn, project_id, [FoundFile(1, "File:A.jpg")])
        (claimed,) = image_rows.claim_pending(conn, "w1", 60, 1)
        conn.execute(update(images).values(lease_until=utcnow() - dt.timedelta(seconds=1)))
        (again,) = image_rows.claim_pending(conn, "w2", 60, 1)
    with engine.begin() as conn:  # the old owner finishes late: nothing is written
        assert not record_done(conn, claimed, "w1", [_face(1)])
        assert conn.execute(select(func.count()).select_from(faces)).scalar_one() == 0
    with engine.begin() as conn:
        assert record_done(conn, again, "w2", [_face(1), _face(2)])
    with engine.begin() as conn:  # a retried image of an unchanged file: the same faces
        conn.execute(update(images).values(status="pending", lease_owner="w3",
                                           lease_until=utcnow() + dt.timedelta(seconds=60)))
        before = {r.id for r in conn.execute(select(faces))}
        assert record_done(conn, again, "w3", [_face(3), _face(1)])
        assert {r.id for r in conn.execute(select(faces))} == before
    with engine.begin() as conn:  # a re-uploaded file replaces its faces, never adds
        conn.execute(update(images).values(status="pending", lease_owner="w4",
                                           lease_until=utcnow() + dt.timedelta(seconds=60)))
        assert record_done(conn, again, "w4", [_face(3), _face(1)], sha1="b" * 40)
        boxes = sorted(r.box_left for r in conn.execute(select(faces)))
        row = image_rows.get(conn, again.id)
    assert boxes == [0.1, 0.30000000000000004] or boxes == [0.1, 0.3]
    assert (row.status, row.faces_found, row.thumb_width, row.width, row.lease_owner) == \
        ("done", 2, 1280, 4000, None)


def test_failures_deferrals_retries_and_counts(engine):
    with engine.begin() as conn:
        project_id = _project(conn)
        image_rows.add_found(conn, project_id, [FoundFile(n, f"File:{n}.jpg") for n in range(4)])
        a, b, c, d = image_rows.claim_pending(conn, "w", 60, 4)
        later = (utcnow() + dt.timedelta(minutes=5)).replace(microsecond=0)  # MariaDB: whole s
        assert image_rows.record_failure(conn, a.id, "w", "http_503", "HTTP 503", later)
        assert image_rows.record_failure(conn, b.id, "w", "corrupt", "broken", None)
        assert image_rows.defer(conn, [c.id], "w", later, "HTTP 429") == 1
        assert image_rows.record_skipped(conn, d.id, "w", "video/webm", "not a photograph")
        counts = image_rows.processing_counts(conn, project_id)
        rows = {r.id: r for r in conn.execute(select(images))}
    assert (rows[a.id].status, rows[a.id].attempts, rows[a.id].next_try_at) == \
        ("pending", 1, later)
    assert (rows[b.id].status, rows[b.id].error_kind) == ("failed", "corrupt")
    assert (rows[c.id].status, rows[c.id].attempts, rows[c.id].lease_owner) == \
        ("pending", 0, None)
    assert rows[d.id].status == "skipped"
    assert (counts.found, counts.pending, counts.retrying, counts.failed, counts.skipped,
            counts.processed) == (4, 2, 1, 1, 1, 2)
    assert counts.failed_by_kind == {"corrupt": 1}
    with engine.begin() as conn:
        assert image_rows.retry_failed(conn, project_id, [a.id]) == 0  # not failed
        assert image_rows.retry_failed(conn, project_id) == 1
        row = image_rows.get(conn, b.id)
        assert (row.status, row.attempts, row.error_kind) == ("pending", 0, "corrupt")


def test_claims_leave_paused_projects_alone(engine):
    with engine.begin() as conn:
        project_id = _project(conn)
        image_rows.add_found(conn, project_id, [FoundFile(1, "File:A.jpg")])
        conn.execute(update(projects).values(status="archived"))
        assert image_rows.claim_pending(conn, "w", 60, 5) == []


def test_retry_policy_backs_off_exponentially_and_gives_up():
    policy = RetryPolicy(max_attempts=4, base_seconds=60)
    now = utcnow()
    transient = Failure("http_503", "x", True)
    delays = [(policy.next_try(n, transient, now) - now).total_seconds() for n in (1, 2, 3)]
    assert delays == [60, 120, 240]
    assert policy.next_try(4, transient, now) is None  # the last attempt: keep the error
    assert policy.next_try(1, Failure("corrupt", "x", False), now) is None
    slow = Failure("http_503", "x", True, retry_after=900)
    assert (policy.next_try(1, slow, now) - now).total_seconds() == 900
    assert RetryPolicy(50, 60).backoff(40) == 24 * 3600  # capped at a day


def test_projects_take_turns_batch_by_batch(engine):
    with engine.begin() as conn:
        big, small = _project(conn), _project(conn)
        image_rows.add_found(conn, big, [FoundFile(n, f"File:{n}.jpg") for n in range(20)])
        image_rows.add_found(conn, small, [FoundFile(n, f"File:{n}.jpg") for n in range(5)])
    order, last = [], None
    for _ in range(4):
        with engine.begin() as conn:
            batch = image_rows.claim_pending(conn, "w", 60, 2, after_project=last)
        assert len({c.project_id for c in batch}) == 1
        last = batch[0].project_id
        order.append(last)
    assert order == [big, small, big, small]
    with engine.begin() as conn:  # the small project's last free image; then only the big one
        assert [c.project_id for c in image_rows.claim_pending(conn, "w", 60, 5, None, big)] \
            == [small]
        assert {c.project_id for c in image_rows.claim_pending(conn, "w", 60, 5, None, small)} \
            == {big}


def test_faces_on_seed_images_start_as_seeds_and_answered_faces_survive(engine):
    with engine.begin() as conn:
        project_id = _project(conn)
        image_rows.add_found(conn, project_id, [FoundFile(1, "File:P18.jpg")], origin="reference")
        image_rows.add_found(conn, project_id, [FoundFile(2, "File:Other.jpg")])
        claimed = image_rows.claim_pending(conn, "w", 60, 2)
        for image in claimed:
            assert record_done(conn, image, "w", [_face(1), _face(2)])
        sources = {(r.image_id, r.source) for r in conn.execute(select(faces))}
        by_page = {c.page_id: c.id for c in claimed}
        assert sources == {(by_page[1], "seed"), (by_page[2], "detector")}
        # A face someone answered is never deleted by a re-run of its image: after a
        # re-upload it stays, superseded, beside the new version's face.
        answered = conn.execute(select(faces.c.id).where(faces.c.image_id == by_page[2])
                                .limit(1)).scalar_one()
        conn.execute(update(faces).where(faces.c.id == answered).values(label="yes"))
        factories.decision(conn, answered, project_id, factories.user(conn))
        conn.execute(update(images).where(images.c.id == by_page[2]).values(
            status="pending", lease_owner="w", lease_until=utcnow() + dt.timedelta(minutes=1)))
        again = next(c for c in claimed if c.page_id == 2)
        assert record_done(conn, again, "w", [_face(3)], sha1="b" * 40)
        left = dict(conn.execute(select(faces.c.id, faces.c.state).where(
            faces.c.image_id == by_page[2])).all())
    assert left.pop(answered) == "superseded" and list(left.values()) == ["active"]
