"""Crawling category trees from the stand-in: depth, cycles, files counted once, non-photos left
out, incremental re-crawls, scheduling (one crawl per project at a time, a new project's at
once), and throttling turned into a later retry (no sleeping)."""

from __future__ import annotations

import datetime as dt
from collections import deque

import pytest
from sqlalchemy import select, update

from likeness.config import QuotaConfig
from likeness.db import categories, crawl_schedule
from likeness.db import jobs as job_rows
from likeness.db import projects as projects_db
from likeness.db.crawl_schedule import CrawlTarget
from likeness.db.jobs import JobKind
from likeness.db.schema import images, jobs, projects, utcnow
from likeness.useragent import user_agent
from likeness.wiki.factory import WORKER, make_clients
from tests import factories
from tests.fixtures.worker_pipeline import new_project
from worker import crawl as crawl_job
from worker.crawl import bare_category, crawl_project
from worker.jobs import JobRunner
from worker.loop import JOBS
from worker.photos import is_photo_mime, is_photo_title


@pytest.fixture
def cfg(make_config, standin):
    return make_config(**standin.config_overrides())


@pytest.fixture
def lister(cfg):
    return make_clients(cfg, use=WORKER).commons


def catalog_tree(catalog, root: str, depth: int) -> tuple[dict[str, int], set[int]]:
    """What a correct crawl finds, computed from the catalog itself (BFS over parents)."""
    children: dict[str, list[str]] = {}
    for cat in catalog.categories:
        for parent in cat.parents:
            children.setdefault(parent, []).append(cat.title)
    seen, queue, files = {root: 0}, deque([root]), set()
    while queue:
        title = queue.popleft()
        files |= {f.pageid for f in catalog.files_in(title)}
        if seen[title] < depth:
            for child in children.get(title, []):
                if child not in seen:
                    seen[child] = seen[title] + 1
                    queue.append(child)
    return {t.split(":", 1)[1]: d for t, d in seen.items()}, files


def crawl(engine, lister, project_id, category, depth, keep_going=lambda: True, **kw):
    return crawl_project(engine, lister, CrawlTarget(project_id, category, depth, "active"),
                         keep_going, **kw)


def page_ids(engine, project_id) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(select(images.c.page_id).where(
            images.c.project_id == project_id)).scalars())


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_tree_is_crawled_to_the_project_depth_counting_each_file_once(engine, lister,
                                                                       standin_catalog, depth):
    project_id = new_project(engine, "Likeness test files", depth=depth)
    stats = crawl(engine, lister, project_id, "Likeness test files", depth)
    tree, files = catalog_tree(standin_catalog, "Category:Likeness test files", depth)
    found = page_ids(engine, project_id)
    assert sorted(found) == sorted(files)  # no duplicates, nothing missing
    with engine.connect() as conn:
        assert {c.title: c.depth for c in categories.tree(conn, project_id)} == tree
    assert stats.categories == len(tree) and stats.new_files == len(files)
    if depth == 2:  # group photos are also in people's categories, listed twice, stored once
        assert stats.listed > len(files)


def test_the_crawl_stops_at_the_file_limit_and_goes_on_when_it_is_raised(
        engine, lister, standin_catalog):
    project_id = new_project(engine, "Likeness test files", depth=2)
    _tree, files = catalog_tree(standin_catalog, "Category:Likeness test files", 2)
    assert len(files) > 7
    small = QuotaConfig(files_per_project=7)
    stats = crawl(engine, lister, project_id, "Likeness test files", 2, quotas=small)
    assert stats.at_file_limit and not stats.interrupted
    assert stats.new_files == 7 and len(page_ids(engine, project_id)) == 7
    again = crawl(engine, lister, project_id, "Likeness test files", 2, quotas=small)
    assert again.at_file_limit and again.new_files == 0 and again.listed == 0
    raised = crawl(engine, lister, project_id, "Likeness test files", 2)
    assert not raised.at_file_limit
    assert sorted(page_ids(engine, project_id)) == sorted(files)


def test_the_crawl_goes_no_deeper_than_the_depth_limit(engine, lister, standin_catalog):
    project_id = new_project(engine, "Likeness test files", depth=2)
    stats = crawl(engine, lister, project_id, "Likeness test files", 2,
                  quotas=QuotaConfig(max_depth=1))
    tree, files = catalog_tree(standin_catalog, "Category:Likeness test files", 1)
    assert tree != catalog_tree(standin_catalog, "Category:Likeness test files", 2)[0]
    with engine.connect() as conn:
        assert {c.title: c.depth for c in categories.tree(conn, project_id)} == tree
    assert sorted(page_ids(engine, project_id)) == sorted(files)
    assert not stats.at_file_limit


def test_a_category_cycle_ends(engine, lister):
    project_id = new_project(engine, "Bill Gates", depth=5)
    stats = crawl(engine, lister, project_id, "Category:Bill_Gates", 5)
    with engine.connect() as conn:
        tree = {c.title: c.depth for c in categories.tree(conn, project_id)}
    assert tree == {"Bill Gates": 0, "Portraits of Bill Gates": 1}
    assert stats.new_files == 21 and not stats.interrupted


def test_audio_video_documents_and_drawings_are_left_out(engine, lister, standin, faces_dir):
    photo = faces_dir / "people/bill_gates/2.jpg"
    titles = ["Speech.ogg", "Clip.webm", "Report.pdf", "Book.djvu", "Logo.svg", "Song.mp3",
              "Portrait.jpg", "Scan.tiff", "Shot.PNG"]
    for title in titles:
        standin.add_file(photo, f"File:{title}", ["Category:Worker mixed media"])
    project_id = new_project(engine, "Worker mixed media")
    stats = crawl(engine, lister, project_id, "Worker mixed media", 0)
    with engine.connect() as conn:
        kept = set(conn.execute(select(images.c.title)).scalars())
    assert kept == {"File:Portrait.jpg", "File:Scan.tiff", "File:Shot.PNG"}
    assert stats.not_photos == 6
    assert is_photo_title("File:a.b.JPEG") and not is_photo_title("File:noextension")
    assert is_photo_mime("image/jpeg") and not is_photo_mime("image/svg+xml")
    assert not is_photo_mime("video/webm") and not is_photo_mime("application/pdf")


def test_a_recrawl_asks_only_for_members_added_since_the_last_one(engine, lister, standin,
                                                                  faces_dir):
    project_id = new_project(engine, "Bill Gates", depth=1)
    crawl(engine, lister, project_id, "Bill Gates", 1)
    with engine.connect() as conn:
        listed_at = {c.title: c.last_crawled_at for c in categories.tree(conn, project_id)}
    first = standin.world.requests[-1]["seq"]
    standin.add_file(faces_dir / "people/bill_gates/3.jpg", "File:Bill Gates new upload.jpg",
                     ["Category:Portraits of Bill Gates"])
    stats = crawl(engine, lister, project_id, "Bill Gates", 1)

    assert stats.new_files == 1 and len(page_ids(engine, project_id)) == 22
    file_listings = [r["params"] for r in standin.world.requests
                     if r["seq"] > first and r["params"].get("cmtype") == "file"]
    assert len(file_listings) == 2
    for params in file_listings:
        category = params["cmtitle"].split(":", 1)[1]
        since = listed_at[category] - dt.timedelta(hours=1)
        assert params["cmsort"] == "timestamp"
        assert params["cmstart"] == since.strftime("%Y-%m-%dT%H:%M:%SZ")
    subcat_listings = [r["params"] for r in standin.world.requests
                       if r["seq"] > first and r["params"].get("cmtype") == "subcat"]
    assert subcat_listings and all("cmstart" not in p for p in subcat_listings)


def test_every_request_names_the_tool(engine, lister, standin, cfg):
    project_id = new_project(engine, "Portraits of Bill Gates")
    crawl(engine, lister, project_id, "Portraits of Bill Gates", 0)
    agents = {r["user_agent"] for r in standin.world.requests}
    assert agents == {user_agent(cfg)}


def test_shutdown_interrupts_between_pages_and_keeps_progress(engine, lister, standin):
    project_id = new_project(engine, "Bill Gates", depth=1)
    calls = []
    stats = crawl(engine, lister, project_id, "Bill Gates", 1, page_size=5,
                  keep_going=lambda: calls.append(1) or len(calls) < 3)
    assert stats.interrupted and stats.new_files == 10  # two pages of 5, then stop
    with engine.connect() as conn:
        assert all(c.last_crawled_at is None for c in categories.tree(conn, project_id))
    stats = crawl(engine, lister, project_id, "Bill Gates", 1)  # resumes, nothing twice
    assert not stats.interrupted and len(page_ids(engine, project_id)) == 21


def _open_crawls(conn) -> int:
    return len(conn.execute(select(jobs.c.id).where(
        jobs.c.kind == JobKind.CRAWL, jobs.c.state.in_(("queued", "running")))).all())


def _create(engine, category: str, depth: int = 0) -> int:
    with engine.begin() as conn:
        return projects_db.create(conn, owner_id=factories.user(conn), qid="Q5284",
                                  label="Bill Gates", category=category, depth=depth)


def test_a_new_project_is_queued_at_once_and_crawled_once(engine):
    every = dt.timedelta(hours=24)
    project_id = _create(engine, "Bill Gates")
    paused_id = new_project(engine, "Bill Gates", status="paused")
    with engine.begin() as conn:
        # Queued by the creation itself: an idle worker takes it at its next poll.
        assert job_rows.open_job_state(conn, JobKind.CRAWL, project_id) == "queued"
        job = job_rows.claim_next(conn, "tester", 60, (JobKind.CRAWL,))
        started = utcnow()
        crawl_schedule.mark_crawled(conn, project_id, started, every)
        job_rows.finish(conn, job.id, "tester")
        # The first crawl is over: the scheduler must not crawl the project again now.
        assert crawl_schedule.schedule_due(conn, every) == []
        assert _open_crawls(conn) == 0
        state = crawl_schedule.crawl_state(conn, project_id)
        assert not state["crawling"] and state["next_crawl_at"] > utcnow() + every * 0.9
        assert crawl_schedule.schedule_due(conn, every, now=utcnow() + every * 1.1) \
            == [project_id]
        crawl_schedule.request_crawl(conn, paused_id)  # queued, but a paused crawl does nothing
        assert paused_id not in crawl_schedule.schedule_due(conn, every,
                                                            now=utcnow() + every * 3)


def test_a_crawl_asked_for_while_one_runs_follows_it(engine):
    every = dt.timedelta(hours=24)
    project_id = _create(engine, "Bill Gates")
    with engine.begin() as conn:
        started = utcnow() - dt.timedelta(seconds=5)
        crawl_schedule.request_crawl(conn, project_id)  # the first crawl is still open
        assert _open_crawls(conn) == 1
        crawl_schedule.mark_crawled(conn, project_id, started, every)
        job_rows.finish(conn, job_rows.claim_next(conn, "tester", 60).id, "tester")
        assert crawl_schedule.schedule_due(conn, every) == [project_id]
        assert _open_crawls(conn) == 1


def test_a_lost_first_crawl_is_queued_by_the_scheduler_once(engine):
    every = dt.timedelta(hours=24)
    project_id = _create(engine, "Bill Gates")
    with engine.begin() as conn:
        conn.execute(jobs.delete())
        assert crawl_schedule.schedule_due(conn, every) == [project_id]
        assert crawl_schedule.schedule_due(conn, every) == []
        assert _open_crawls(conn) == 1


def test_maxlag_during_a_crawl_becomes_a_later_retry(engine, make_context, standin):
    project_id = _create(engine, "Bill Gates", depth=1)
    standin.fault("commons.api", "maxlag", times=1, lag=9, match={"list": "categorymembers"})
    runner = JobRunner(make_context(), {JobKind.CRAWL: JOBS[JobKind.CRAWL]})
    before = utcnow()
    assert runner.run_one()
    with engine.connect() as conn:
        job = conn.execute(select(jobs).where(jobs.c.kind == JobKind.CRAWL)).one()
    assert job.state == "queued" and "maxlag" in job.error
    waited = (job.run_after - before).total_seconds()
    assert 4 <= waited <= 7  # the stand-in's Retry-After (5 s), not a sleep or a backoff
    with engine.begin() as conn:
        conn.execute(jobs.update().values(run_after=None))
    assert runner.run_one()
    with engine.connect() as conn:
        job = conn.execute(select(jobs).where(jobs.c.kind == JobKind.CRAWL)).one()
        last = conn.execute(select(projects.c.last_crawled_at).where(
            projects.c.id == project_id)).scalar_one()
    assert job.state == "done" and last is not None
    assert '"new_files": 21' in job.result


def test_bare_category_names():
    assert bare_category("category:Foo_bar") == "Foo bar"
    assert bare_category("Foo bar") == "Foo bar"
    assert bare_category("Category:Élan") == "Élan"


def test_paused_project_crawl_job_does_nothing(engine, make_context):
    _create(engine, "Bill Gates")
    with engine.begin() as conn:
        job = job_rows.claim_next(conn, "tester", 60, (JobKind.CRAWL,))
        conn.execute(update(projects).values(status="paused"))
    assert crawl_job.run(make_context(), job) == {"skipped": "project paused"}
