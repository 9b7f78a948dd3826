"""A dead worker's claims are free as soon as its heartbeat is stale (or it said 'stopped'), for
every leased table: images, jobs and edits; a live worker's are not, and renewing counts as a
heartbeat. The rule lives in likeness.db.workers.dead and likeness.db.claims.free."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from likeness.db import edits as edit_rows
from likeness.db import images as image_rows
from likeness.db import jobs as job_rows
from likeness.db import workers
from likeness.db.images import FoundFile
from likeness.db.schema import utcnow
from likeness.db.schema import workers as worker_table
from tests import factories as f

LONG_LEASE = 3600


def _register(conn, worker_id: str, stale_seconds: int = 30) -> None:
    workers.register(conn, worker_id, "host", 1, "test", stale_seconds)


def _silence(conn, worker_id: str, seconds: float) -> None:
    """The worker's last heartbeat was ``seconds`` ago (it died then)."""
    conn.execute(update(worker_table).where(worker_table.c.id == worker_id).values(
        heartbeat_at=utcnow() - dt.timedelta(seconds=seconds)))


def test_dead_is_stale_or_stopped_and_unregistered_holders_are_left_to_the_lease(engine):
    with engine.begin() as conn:
        _register(conn, "fresh")
        _register(conn, "silent", stale_seconds=5)
        _register(conn, "patient", stale_seconds=600)
        _register(conn, "stopped")
        _silence(conn, "silent", 6)
        _silence(conn, "patient", 6)
        workers.beat(conn, "stopped", "stopped")
        assert sorted(workers.dead(conn)) == ["silent", "stopped"]
        workers.touch(conn, "silent")          # a lease renewal is a sign of life
        workers.touch(conn, "stopped")         # ... but does not revive a stopped worker
        assert workers.dead(conn) == ["stopped"]


def test_edit_held_by_a_dead_worker_is_taken_over_before_its_lease_ends(engine):
    with engine.begin() as conn:
        alice = f.user(conn)
        project = f.project(conn, alice)
        wanted = [edit_rows.Wanted(p, f"File:P{p}.jpg", "Q42", None, "pct:1,2,3,4")
                  for p in (1, 2)]
        edit_rows.queue(conn, wanted, project_id=project, user_id=alice, batch_id="b")
        _register(conn, "w1", stale_seconds=5)
        _register(conn, "w2", stale_seconds=5)
    with engine.begin() as conn:
        claimed = edit_rows.claim_next(conn, "w1", LONG_LEASE)
    with engine.begin() as conn:
        # w1 is alive: its user is busy, nothing for w2 (the old rule, unchanged).
        assert edit_rows.claim_next(conn, "w2", LONG_LEASE) is None
        _silence(conn, "w1", 6)
    with engine.begin() as conn:
        again = edit_rows.claim_next(conn, "w2", LONG_LEASE)
    assert again is not None and (again.id, again.attempts, again.lease_owner) == (
        claimed.id, 2, "w2")
    with engine.begin() as conn:
        # The dead worker can no longer extend or record anything for it.
        assert not edit_rows.renew(conn, claimed.id, "w1", LONG_LEASE)
        assert not edit_rows.mark_done(conn, claimed.id, "w1", action="add", statement_id="x",
                                       revision_id=1, written_json="{}",
                                       created_statement=True)


def test_renewing_an_edit_lease_keeps_the_sender_alive(engine):
    with engine.begin() as conn:
        alice = f.user(conn)
        project = f.project(conn, alice)
        edit_rows.queue(conn, [edit_rows.Wanted(1, "File:P1.jpg", "Q42", None, "pct:1,2,3,4")],
                        project_id=project, user_id=alice, batch_id="b")
        _register(conn, "w1", stale_seconds=5)
        _register(conn, "w2", stale_seconds=5)
    with engine.begin() as conn:
        claimed = edit_rows.claim_next(conn, "w1", LONG_LEASE)
        _silence(conn, "w1", 6)
        # Before its POST the sender renews: that is a heartbeat, so nobody takes it over.
        assert edit_rows.renew(conn, claimed.id, "w1", LONG_LEASE)
    with engine.begin() as conn:
        assert edit_rows.claim_next(conn, "w2", LONG_LEASE) is None


def test_images_and_jobs_of_a_dead_worker_are_free_at_once(engine):
    with engine.begin() as conn:
        project = f.project(conn, f.user(conn))
        image_rows.add_found(conn, project, [FoundFile(n, f"File:{n}.jpg") for n in range(3)])
        job_id = job_rows.enqueue(conn, "train", project_id=project)
        _register(conn, "w1", stale_seconds=5)
        _register(conn, "w2", stale_seconds=5)
    with engine.begin() as conn:
        mine = {c.id for c in image_rows.claim_pending(conn, "w1", LONG_LEASE, 10)}
        job = job_rows.claim_next(conn, "w1", LONG_LEASE)
    assert len(mine) == 3 and job.id == job_id
    with engine.begin() as conn:
        assert image_rows.claim_pending(conn, "w2", LONG_LEASE, 10) == []
        assert job_rows.claim_next(conn, "w2", LONG_LEASE) is None
        # w1 renews its images: alive, even though its last loop beat is old.
        _silence(conn, "w1", 6)
        assert image_rows.renew(conn, list(mine), "w1", LONG_LEASE) == 3
        assert image_rows.claim_pending(conn, "w2", LONG_LEASE, 10) == []
        _silence(conn, "w1", 6)               # then it dies
    with engine.begin() as conn:
        taken = {c.id for c in image_rows.claim_pending(conn, "w2", LONG_LEASE, 10)}
        job_again = job_rows.claim_next(conn, "w2", LONG_LEASE)
        assert image_rows.renew(conn, list(mine), "w1", LONG_LEASE) == 0
        owner = conn.execute(select(worker_table.c.id).where(
            worker_table.c.id == "w1")).scalar()
    assert taken == mine and job_again.id == job_id and job_again.attempts == 2
    assert owner == "w1"      # the row stays (the status page shows it as gone)
