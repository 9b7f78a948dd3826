"""The worker against the stand-in over HTTP: candidate sources beyond the category (the item's
Commons category, label search, files depicting related items: capped, newest first, new
uploads picked up), one detection per file for overlapping projects, and a re-upload detected
again once for every project that includes it, every answer kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select, update

from likeness.db import crawl_schedule, sources
from likeness.db import projects as projects_db
from likeness.db.jobs import JobKind
from likeness.db.schema import decisions, faces, files, images, jobs, utcnow
from standin.faces_catalog import EVENT, EVENT_PHOTOS
from tests import factories
from tests.fixtures.worker_pipeline import drain, new_project
from worker.jobs import JobRunner
from worker.loop import JOBS


def _origins(engine, project_id: int) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(images.c.title, images.c.origin)
                                 .where(images.c.project_id == project_id)).all())


def test_sources_beyond_the_category_are_listed_capped_and_kept_up(engine, make_context,
                                                                    standin, standin_catalog,
                                                                    tmp_path):
    gates = standin_catalog.person("bill_gates")
    with engine.begin() as conn:
        owner = factories.user(conn)
        project_id = projects_db.create(
            conn, owner_id=owner, qid=gates.qid, label="Bill Gates",
            category="Likeness test empty", depth=1,
            source_kinds=("commons_category", "search", "related"))
    runner = JobRunner(make_context(sources={"search_files": 4}),
                       {JobKind.CRAWL: JOBS[JobKind.CRAWL]})
    assert runner.run_one()
    origins = _origins(engine, project_id)
    # P373 = "Bill Gates": its tree to the project's depth (with the portraits subcategory).
    tree = {f.title for f in standin_catalog.files_in("Category:Bill Gates")
            + standin_catalog.files_in("Category:Portraits of Bill Gates")}
    assert {t for t, o in origins.items() if o == "category"} == tree
    # Files depicting the event he attended: all three (under the cap of 4), not capped.
    related = {f.title for f in standin_catalog.files
               if Path(f.path).stem in EVENT_PHOTOS}
    assert related <= set(origins)
    # Label search: capped at 4 files; those already found by the tree keep their origin.
    with engine.connect() as conn:
        state = {s.kind: s for s in sources.of_project(conn, project_id)}
    assert (state["search"].last_listed, state["search"].capped) == (4, True)
    assert (state["related"].last_listed, state["related"].capped) == (3, False)
    assert state["commons_category"].last_new == len(tree)
    searches = standin.requests_log("commons.api", list="search")
    assert {r["params"]["srsearch"] for r in searches} >= {
        '"Bill Gates" filetype:bitmap',
        f"haswbstatement:P180={EVENT} filetype:bitmap"}
    assert {r["params"].get("srsort") for r in searches} == {"create_timestamp_desc"}

    # A new upload mentioning him, outside every category: the next crawl finds it first,
    # although the search is capped.
    photo = tmp_path / "new.png"
    Image.new("RGB", (400, 300), "gray").save(photo)
    standin.add_file(photo, "File:Bill Gates at the 2026 test fair.png", [])
    with engine.begin() as conn:
        crawl_schedule.request_crawl(conn, project_id)
    assert runner.run_one()
    origins = _origins(engine, project_id)
    assert origins["File:Bill Gates at the 2026 test fair.png"] == "search"
    with engine.connect() as conn:
        assert sources.of_project(conn, project_id)[1].last_new == 1   # only the new one


def _downloads(standin, since: int = 0) -> dict[str, int]:
    """Thumbnails (or originals, for small files) fetched from the upload host, by path."""
    counts: dict[str, int] = {}
    for row in standin.requests_log("upload", method="GET", since=since):
        counts[row["path"]] = counts.get(row["path"], 0) + 1
    return counts


def test_two_overlapping_projects_detect_each_file_once(make_worker, engine, standin):
    """Obama's and Biden's categories share their two photos together; a third project on
    Obama's category shares all of them. Created at once, so workers meet on shared files."""
    worker = make_worker()
    obama = new_project(engine, "Barack Obama")
    biden = new_project(engine, "Joe Biden")
    again = new_project(engine, "Barack Obama")
    drain(worker)
    with engine.connect() as conn:
        pairs = conn.execute(select(func.count()).select_from(images)
                             .where(images.c.status == "done")).scalar_one()
        distinct = conn.execute(select(func.count(images.c.page_id.distinct()))
                                .where(images.c.status == "done")).scalar_one()
        detected = conn.execute(select(func.count()).select_from(files)
                                .where(files.c.detected_at.is_not(None))).scalar_one()
        per_project = dict(conn.execute(select(faces.c.project_id, func.count())
                                        .group_by(faces.c.project_id)).all())
    assert (pairs, distinct, detected) == (7 + 9 + 7, 14, 14)   # each file detected once
    downloads = _downloads(standin)
    assert len(downloads) == distinct and set(downloads.values()) == {1}
    assert per_project[obama] == per_project[again] and set(per_project) == {obama, biden,
                                                                               again}


def test_a_reupload_is_detected_again_once_for_every_project(make_worker, make_context,
                                                             engine, standin, standin_catalog,
                                                             faces_dir):
    worker = make_worker()
    first = new_project(engine, "Portraits of Bill Gates")
    second = new_project(engine, "Portraits of Bill Gates")
    drain(worker)
    page = standin_catalog.files_in("Category:Portraits of Bill Gates")[0]
    with engine.begin() as conn:
        image_id = conn.execute(select(images.c.id).where(
            images.c.project_id == first, images.c.page_id == page.pageid)).scalar_one()
        answered = conn.execute(select(faces.c.id).where(faces.c.image_id == image_id)
                                .limit(1)).scalar_one()
        conn.execute(update(faces).where(faces.c.id == answered).values(label="yes"))
        factories.decision(conn, answered, first, factories.user(conn))
        # A day passes: every file is due for its sha1 check at the next crawl.
        conn.execute(update(files).values(checked_at=utcnow() - dt.timedelta(days=2)))
    standin.reupload(page.title, faces_dir / "people" / "tom_cruise" / "1.jpg")
    before = standin.requests_log()[-1]["seq"]
    with engine.begin() as conn:
        crawl_schedule.request_crawl(conn, first)
    drain(worker)
    fetched = _downloads(standin, since=before)       # the new version, once, for both
    assert list(fetched.values()) == [1]
    assert page.title.split(":", 1)[1].replace(" ", "_") in next(iter(fetched))
    with engine.connect() as conn:
        face = conn.execute(select(faces.c.state, faces.c.label).where(
            faces.c.id == answered)).one()
        statuses = conn.execute(select(images.c.status).where(
            images.c.page_id == page.pageid)).scalars().all()
        new_faces = conn.execute(select(faces.c.project_id).where(
            faces.c.state == "active",
            faces.c.image_id.in_(select(images.c.id).where(images.c.page_id == page.pageid)))
        ).scalars().all()
        sha1 = conn.execute(select(files.c.sha1).where(files.c.page_id == page.pageid)
                            ).scalar_one()
        assert conn.execute(select(func.count()).select_from(decisions)).scalar_one() == 1
    assert tuple(face) == ("superseded", "yes")           # kept for the audit, not used
    assert statuses == ["done", "done"] and sorted(new_faces) == [first, second]
    assert sha1 == standin.world.file_by_title(page.title).sha1
    with engine.connect() as conn:
        crawls = conn.execute(select(jobs.c.result).where(jobs.c.kind == "crawl",
                                                          jobs.c.state == "done")).scalars()
        assert any('"reuploaded": 1' in r for r in crawls)
