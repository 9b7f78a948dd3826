"""The crawl -> imageinfo -> download -> face pool -> store pipeline, in process, on the stand-in
with real dlib (the module's pool of 2 children)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from likeness.db import categories, crawl_schedule
from likeness.db import images as image_rows
from likeness.db.schema import jobs
from tests.fixtures.worker_pipeline import (
    drain,
    expected_faces,
    face_rows,
    image_states,
    new_project,
)


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
            jobs.c.dedupe_key == f"train:{project_id}")).scalar_one()
        crawl = crawl_schedule.crawl_state(conn, project_id)
    assert (progress.found, progress.done, progress.faces, progress.failed) == (21, 21, 27, 0)
    assert train == "queued"
    assert not crawl["crawling"] and crawl["last_crawled_at"] is not None
    assert crawl["next_crawl_at"] > crawl["last_crawled_at"]


def _tree(engine, project_id):
    with engine.connect() as conn:
        return categories.tree(conn, project_id)
