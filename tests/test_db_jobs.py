import datetime as dt

from likeness.db import jobs
from likeness.db.schema import utcnow
from tests import factories as f


def test_dedupe_key_allows_one_open_job_and_frees_on_finish(engine):
    with engine.begin() as conn:
        project_id = f.project(conn, f.user(conn))
        first = jobs.enqueue_crawl(conn, project_id)
        again = jobs.enqueue_crawl(conn, project_id)
    assert first is not None and again is None
    with engine.begin() as conn:
        job = jobs.claim_next(conn, "w1", 60)
        assert job.id == first and job.attempts == 1
        jobs.finish(conn, job.id, "w1", {"ok": True})
        assert jobs.enqueue_crawl(conn, project_id) is not None


def test_claimed_job_is_invisible_to_others_until_its_lease_expires(engine):
    with engine.begin() as conn:
        job_id = jobs.enqueue(conn, "crawl", payload={"x": 1})
    with engine.begin() as conn:
        assert jobs.claim_next(conn, "w1", 60).payload == {"x": 1}
    with engine.begin() as conn:
        assert jobs.claim_next(conn, "w2", 60) is None
    later = utcnow() + dt.timedelta(seconds=61)
    with engine.begin() as conn:  # w1 died: its lease ran out, w2 takes the job over
        from likeness.db import claims
        from likeness.db.schema import jobs as table
        assert claims.claim(conn, table, table.c.state == "running", [table.c.id], "w2", 60,
                            now=later) == [job_id]


def test_failure_requeues_with_delay_or_ends(engine):
    with engine.begin() as conn:
        job_id = jobs.enqueue(conn, "encode_box")
        jobs.claim_next(conn, "w1", 60)
        jobs.fail(conn, job_id, "w1", "busy", retry_at=utcnow() + dt.timedelta(hours=1))
        assert jobs.claim_next(conn, "w1", 60) is None  # not before its time
        assert jobs.get(conn, job_id).state == "queued"
        jobs.fail(conn, job_id, "w1", "not ours")  # a worker without the lease changes nothing
        assert jobs.get(conn, job_id).state == "queued"


def test_an_answers_retrain_brings_forward_one_put_off_after_new_images(engine):
    """New images put a retrain off for 10 s; the labeller's first answer must not wait for it
    (measured end to end: 7 answers before the first model). A short put-off stays."""
    with engine.begin() as conn:
        project_id = f.project(conn, f.user(conn))
        first = jobs.enqueue_train(conn, project_id, delay=dt.timedelta(seconds=10))
        assert jobs.claim_next(conn, "w1", 60) is None          # put off: not ready yet
        assert jobs.enqueue_train(conn, project_id, delay=dt.timedelta(seconds=10)) is None
        assert jobs.claim_next(conn, "w1", 60) is None          # more images: still put off
        assert jobs.enqueue_train(conn, project_id) is None     # an answer: one job, ready now
        job = jobs.claim_next(conn, "w1", 60)
        assert job is not None and job.id == first
        jobs.finish(conn, job.id, "w1", {"rerun_after": 2})
    with engine.begin() as conn:
        rerun = jobs.enqueue_train(conn, project_id, delay=dt.timedelta(seconds=2))
        assert jobs.enqueue_train(conn, project_id) is None     # within RETRAIN_SOON: stays
        assert rerun is not None and jobs.claim_next(conn, "w1", 60) is None
