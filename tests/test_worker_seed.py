"""Seeding against the stand-in: P18 photos and files already carrying P180 = the item."""

from sqlalchemy import select

from likeness.db import faces_store
from likeness.db import images as image_rows
from likeness.db.images import FoundFile
from likeness.db.jobs import Job
from likeness.db.schema import faces, images
from likeness.faces.types import Box, DetectedFace
from tests import factories as f
from worker import seed as seed_job


def seed(make_context, project_id):
    return seed_job.run(make_context(), Job(1, "seed", project_id, None, None, {}, 1))


def origins(engine, project_id):
    with engine.connect() as conn:
        return dict(conn.execute(select(images.c.title, images.c.origin)
                                 .where(images.c.project_id == project_id)).all())


def test_p18_and_p180_files_in_the_tree_become_seeds(engine, make_context, standin,
                                                     standin_catalog):
    gates = standin_catalog.person("bill_gates")
    in_tree = standin_catalog.files_in(gates.category)
    with_p180 = {x.title for x in standin_catalog.files_with_p180()
                 if any(s.get("value") == gates.qid for s in x.sdc["statements"])}
    with engine.begin() as conn:
        project_id = f.project(conn, f.user(conn), qid=gates.qid,
                               category=gates.category.removeprefix("Category:"))
        image_rows.add_found(conn, project_id, [FoundFile(x.pageid, x.title) for x in in_tree])
        detected_on = conn.execute(select(images.c.id).where(
            images.c.title == sorted(with_p180)[0])).scalar_one()
        labelled_face = f.face(conn, project_id, detected_on, label="no")
        open_face = f.face(conn, project_id, detected_on)
    result = seed(make_context, project_id)
    assert result["reference_files"] == 1 and result["depicts_files"] >= 2
    seen = origins(engine, project_id)
    assert seen[gates.p18] == "reference"
    assert all(seen[t] == "depicts" for t in with_p180 if t in seen and t != gates.p18)
    assert set(seen) == {x.title for x in in_tree}  # nothing from outside the tree
    with engine.connect() as conn:
        sources = dict(conn.execute(select(faces.c.id, faces.c.source)).all())
    assert sources == {labelled_face: "detector", open_face: "seed"}  # answered faces stay


def test_files_outside_the_tree_only_when_the_owner_opts_in(engine, make_context, standin,
                                                            standin_catalog):
    gates = standin_catalog.person("bill_gates")
    with engine.begin() as conn:
        owner = f.user(conn)
        closed = f.project(conn, owner, qid=gates.qid, category="Likeness test empty")
        opted = f.project(conn, owner, qid=gates.qid, category="Likeness test empty",
                          seed_outside_tree=True)
    seed(make_context, closed)
    seed(make_context, opted)
    assert set(origins(engine, closed).values()) == {"reference"}  # the P18 photo only
    outside = origins(engine, opted)
    assert list(outside.values()).count("depicts") >= 2


def test_detected_faces_on_seed_images_are_seeds(engine):
    with engine.begin() as conn:
        project_id = f.project(conn, f.user(conn))
        reference = f.image(conn, project_id, page_id=1, origin="reference")
        plain = f.image(conn, project_id, page_id=2)
        face = DetectedFace(Box(0.1, 0.1, 0.2, 0.2), b"\0" * 512)
        files = {page: f.detect(conn, page, [face]) for page in (1, 2)}
        for image_id, page_id in ((reference, 1), (reference, 1), (plain, 2)):  # re-run: same
            faces_store.link(conn, image_id, files[page_id])
        rows = conn.execute(select(faces.c.image_id, faces.c.source)).all()
    assert sorted(rows) == sorted([(reference, "seed"), (plain, "detector")])
