"""The crawl -> imageinfo -> download -> face pool -> store pipeline, in process, on the stand-in
with real dlib (the module's pool of 2 children)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
from sqlalchemy import select

from likeness.db import boxes, categories, crawl_schedule
from likeness.db import images as image_rows
from likeness.db import jobs as job_rows
from likeness.db import projects as projects_db
from likeness.db.crawl_schedule import CrawlTarget
from likeness.db.jobs import JobKind
from likeness.db.schema import detections, faces, images, jobs, utcnow
from likeness.faces.pool import FacePool
from likeness.faces.types import encoding_to_array
from tests import factories
from tests.fixtures.worker_pipeline import (
    drain,
    expected_faces,
    face_rows,
    image_states,
    new_project,
    processor_of,
)
from worker.crawl import crawl_project
from worker.facepool import SharedPool
from worker.loop import build_worker


def _relative(path: str, faces_dir: Path) -> str:
    return str(Path(path).resolve().relative_to(faces_dir.resolve()))


def test_a_category_tree_is_crawled_and_every_face_found(make_worker, engine, standin,
                                                          standin_catalog, faces_dir):
    worker = make_worker()
    project_id = new_project(engine, "Bill Gates", depth=1)
    drain(worker)

    # Bill Gates (16 files) + Portraits of Bill Gates (5), which links back (a cycle).
    tree = {c.title: c.depth for c in _tree(engine, project_id)}
    assert tree == {"Bill Gates": 0, "Portraits of Bill Gates": 1}
    wanted = {f.title: f for f in standin_catalog.files_in("Category:Bill Gates")
              + standin_catalog.files_in("Category:Portraits of Bill Gates")}
    states = image_states(engine, project_id)
    assert set(states) == set(wanted)
    assert {row.status for row in states.values()} == {"done"}
    counts = expected_faces(faces_dir)
    for title, row in states.items():
        assert row.faces_found == counts[_relative(wanted[title].path, faces_dir)], title
        assert row.thumb_width and row.thumb_url.startswith(standin.urls.upload)
    rows = face_rows(engine, project_id)
    assert len(rows) == sum(r.faces_found for r in states.values()) == 27
    for (_, left, top, width, height), encoding in rows:
        assert 0 <= left < 1 and 0 <= top < 1 and 0 < width <= 1 and 0 < height <= 1
        assert len(encoding) == 512  # 128 float32
    with engine.connect() as conn:
        progress = image_rows.processing_counts(conn, project_id)
        train = conn.execute(select(jobs.c.state).where(
            jobs.c.dedupe_key == job_rows.dedupe_key(JobKind.TRAIN, project_id))).scalar_one()
        crawl = crawl_schedule.crawl_state(conn, project_id)
    assert (progress.found, progress.done, progress.faces, progress.failed) == (21, 21, 27, 0)
    assert train == "queued"
    assert not crawl["crawling"] and crawl["last_crawled_at"] is not None
    assert crawl["next_crawl_at"] > crawl["last_crawled_at"]


def _tree(engine, project_id):
    with engine.connect() as conn:
        return categories.tree(conn, project_id)


BIG_GROUPS = ["groups/dlib_bald_guys_collage.jpg", "groups/commons_rumba_kings_band_2023.jpg",
              "groups/commons_abstract_wikipedia_team_2022.jpg", "groups/fr_obama_and_biden.jpg"]


def _busy_children(pool) -> list[int]:
    return [c.process.pid for c in pool._children if c.task is not None]


def test_a_child_that_segfaults_is_replaced_and_its_image_retried(make_worker, engine, standin,
                                                                   faces_dir, face_pool):
    for n, relative in enumerate(BIG_GROUPS):
        standin.add_file(faces_dir / relative, f"File:Crash test {n}.jpg",
                         ["Category:Worker crash tests"])
    before = set(face_pool.child_pids())
    killed: list[int] = []

    def kill_busy_children() -> None:
        deadline = time.monotonic() + 30
        while not killed and time.monotonic() < deadline:
            for pid in _busy_children(face_pool):
                os.kill(pid, signal.SIGSEGV)
                killed.append(pid)
            time.sleep(0.01)

    killer = threading.Thread(target=kill_busy_children)
    worker = make_worker(max_attempts=2, retry_base_seconds=0)
    project_id = new_project(engine, "Worker crash tests")
    killer.start()
    drain(worker)
    killer.join()

    assert killed and not set(killed) & set(face_pool.child_pids())
    assert set(face_pool.child_pids()) != before and face_pool.stats["crashes"] >= 1
    states = image_states(engine, project_id)
    counts = expected_faces(faces_dir)
    assert {row.status for row in states.values()} == {"done"}
    assert any(row.attempts == 2 for row in states.values())  # the crashed one, retried
    for n, relative in enumerate(BIG_GROUPS):
        assert states[f"File:Crash test {n}.jpg"].faces_found == counts[relative]


def test_a_child_that_hangs_is_replaced_and_the_rest_complete(engine, make_config, standin,
                                                               faces_dir):
    standin.add_file(faces_dir / BIG_GROUPS[0], "File:Slow group.jpg", ["Category:Worker hangs"])
    standin.add_file(faces_dir / "people/bill_gates/2.jpg", "File:Quick portrait.jpg",
                     ["Category:Worker hangs"])
    cfg = make_config(**standin.config_overrides(),
                      worker={"max_attempts": 1, "poll_interval": 0.2})
    with FacePool(1, task_timeout=0.8, memory_limit_mb=None) as pool:
        pool.wait_ready()
        first = pool.child_pids()
        worker = build_worker(cfg, engine, pool=SharedPool(cfg, pool=pool),
                              job_kinds=(JobKind.CRAWL,))
        project_id = new_project(engine, "Worker hangs")
        drain(worker)
        assert pool.stats["timeouts"] == 1 and pool.child_pids() != first
    states = image_states(engine, project_id)
    slow, quick = states["File:Slow group.jpg"], states["File:Quick portrait.jpg"]
    assert (slow.status, slow.error_kind) == ("failed", "timeout")
    assert (quick.status, quick.faces_found) == ("done", 1)


def test_a_drawn_box_is_encoded_by_the_worker(make_worker, engine, standin):
    worker = make_worker()
    project_id = new_project(engine, "Portraits of Bill Gates")
    drain(worker)
    rows = face_rows(engine, project_id, digits=6)
    (page_id, left, top, width, height), detected = rows[0]
    with engine.begin() as conn:
        image_id = conn.execute(select(images.c.id).where(images.c.page_id == page_id)
                                ).scalar_one()
        user_id = factories.user(conn)
        face_id = boxes.add_box(conn, project_id=project_id, image_id=image_id,
                                user_id=user_id, box=boxes.Box(left, top, width, height))
    drain(worker)
    with engine.connect() as conn:
        face = conn.execute(select(faces.c.state, detections.c.encoding, detections.c.project_id)
                            .join(detections, detections.c.id == faces.c.detection_id)
                            .where(faces.c.id == face_id)).one()
        job = conn.execute(select(jobs).where(jobs.c.face_id == face_id)).one()
    assert (face.state, job.state) == ("active", "done")
    assert face.project_id == project_id  # a drawn box's encoding is the project's own
    distance = np.linalg.norm(encoding_to_array(face.encoding) - encoding_to_array(detected))
    assert distance < 0.05  # the same region of the same image: the same face


def test_a_box_that_cannot_be_fetched_ends_in_error(make_worker, engine, standin):
    worker = make_worker(max_attempts=1)
    project_id = new_project(engine, "Portraits of Bill Gates")
    drain(worker)
    with engine.begin() as conn:
        image_id = conn.execute(select(images.c.id).where(images.c.project_id == project_id)
                                .limit(1)).scalar_one()
        user_id = factories.user(conn)
        face_id = boxes.add_box(conn, project_id=project_id, image_id=image_id,
                                user_id=user_id, box=boxes.Box(0.2, 0.2, 0.5, 0.5))
    standin.fault("upload", "http", times=None, status=404)
    drain(worker)
    with engine.connect() as conn:
        face = conn.execute(select(faces).where(faces.c.id == face_id)).one()
        job = conn.execute(select(jobs).where(jobs.c.face_id == face_id)).one()
    assert (face.state, face.detection_id) == ("error", None)
    assert job.state == "failed" and "404" in job.error


def test_a_pool_that_cannot_start_gives_the_images_back_then_recovers(engine, make_config,
                                                                     standin):
    cfg = make_config(**standin.config_overrides(), worker={"poll_interval": 0.2})
    shared = SharedPool(cfg, memory_limit_mb=40, startup_timeout=20)  # dlib cannot load
    worker = build_worker(cfg, engine, pool=shared, job_kinds=(JobKind.CRAWL,))
    processor = processor_of(worker)
    project_id = new_project(engine, "Portraits of Bill Gates")
    drain(worker)
    states = image_states(engine, project_id).values()
    assert len(states) == 5
    assert all(r.status == "pending" and r.attempts == 0 and r.lease_owner is None
               for r in states)  # given back untouched, nothing charged to the images
    assert processor.paused_until > time.monotonic()

    shared.overrides = {}  # memory is back: the next unit starts a fresh pool
    processor.paused_until = 0.0
    try:
        drain(worker)
    finally:
        shared.close()
    assert {r.status for r in image_states(engine, project_id).values()} == {"done"}


def test_the_health_file_and_leases_stay_fresh_inside_long_units(make_worker, engine, standin,
                                                                 faces_dir, tmp_path):
    for copy in range(2):
        for n, relative in enumerate(BIG_GROUPS):
            standin.add_file(faces_dir / relative, f"File:Long unit {copy} {n}.jpg",
                             ["Category:Worker long units"])
    health = tmp_path / "health"
    worker = make_worker(health_file=str(health), lease_seconds=2)  # renewed every second
    new_project(engine, "Worker long units")
    touches: list[float] = []
    expired: list[int] = []
    leased_since: dict[int, float] = {}
    longest: list[float] = [0.0]
    done = threading.Event()

    def watch() -> None:
        last, checked = None, 0.0
        while not done.is_set():
            if health.exists() and health.stat().st_mtime != last:
                last = health.stat().st_mtime
                touches.append(time.monotonic())
            if time.monotonic() - checked > 0.2:
                checked = time.monotonic()
                with engine.connect() as conn:
                    leased = conn.execute(select(images.c.id, images.c.lease_until).where(
                        images.c.status == "pending", images.c.lease_owner.is_not(None))).all()
                now = utcnow() - dt.timedelta(seconds=0.5)
                expired.extend(row.id for row in leased if row.lease_until < now)
                for row in leased:
                    since = leased_since.setdefault(row.id, checked)
                    longest[0] = max(longest[0], checked - since)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        worker.run_once()  # the crawl job
        worker.run_once()  # one images unit: eight big photos, several seconds
    finally:
        done.set()
        watcher.join()
    gaps = [b - a for a, b in zip(touches, touches[1:], strict=False)]
    assert len(touches) >= 3 and max(gaps) < 3.5, gaps  # beats from inside the unit
    assert longest[0] > 2.5 and not expired  # held longer than a 2 s lease: renewed
    with engine.connect() as conn:
        rows = conn.execute(select(images.c.status, images.c.attempts)).all()
    assert len(rows) == 8
    assert {r.status for r in rows} == {"done"} and {r.attempts for r in rows} == {1}


def test_an_images_unit_stops_claiming_when_somebody_waits_for_a_job(make_worker, engine):
    worker = make_worker(batch_size=2)
    project_id = new_project(engine, "Bill Gates")
    target = CrawlTarget(project_id, "Bill Gates", 0, "active")
    assert crawl_project(engine, worker.ctx.wiki.commons, target, lambda: True).new_files == 16
    with engine.begin() as conn:  # someone creates a project meanwhile: its crawl is urgent
        other = projects_db.create(conn, owner_id=factories.user(conn), qid="Q1",
                                   label="Other", category="Portraits of Bill Gates")
    assert processor_of(worker)() is True
    statuses = [r.status for r in image_states(engine, project_id).values()]
    assert statuses.count("done") == 2  # one batch, then the unit made way for the crawl
    assert worker.run_once()  # the crawl runs first in the next pass
    with engine.connect() as conn:
        assert job_rows.open_job_state(conn, JobKind.CRAWL, other) is None


def test_a_retrain_after_answers_also_interrupts_an_images_unit(make_worker, engine):
    """The labeller waits for the next grid of proposals: the retrain an answer asks for runs
    within seconds, even while the worker is busy detecting faces."""
    worker = make_worker(batch_size=2)
    project_id = new_project(engine, "Bill Gates")
    target = CrawlTarget(project_id, "Bill Gates", 0, "active")
    assert crawl_project(engine, worker.ctx.wiki.commons, target, lambda: True).new_files == 16
    with engine.begin() as conn:
        job_rows.enqueue_train(conn, project_id)   # what an answer does (no delay)
    assert processor_of(worker)() is True
    statuses = [r.status for r in image_states(engine, project_id).values()]
    assert statuses.count("done") == 2
