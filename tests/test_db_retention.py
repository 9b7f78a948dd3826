import datetime as dt

from sqlalchemy import select, update

from likeness.db import faces_store, retention
from likeness.db import projects as projects_db
from likeness.db.schema import (
    decisions,
    detections,
    faces,
    files,
    images,
    model_runs,
    projects,
    utcnow,
)
from likeness.faces.types import Box, DetectedFace
from tests import factories as f

FACE = DetectedFace(Box(0.1, 0.2, 0.3, 0.4), bytes(range(256)) * 2)


def _encodings(conn) -> dict[int, bytes | None]:
    """project -> the encoding its face uses (None: it uses none)."""
    return dict(conn.execute(select(faces.c.project_id, detections.c.encoding)
                             .outerjoin(detections, detections.c.id == faces.c.detection_id)
                             ).all())


def test_inactive_projects_lose_encodings_but_keep_decisions(engine):
    old = utcnow() - dt.timedelta(days=400)
    with engine.begin() as conn:
        owner = f.user(conn)
        stale, fresh = f.project(conn, owner), f.project(conn, owner, category="Fresh")
        conn.execute(update(projects).where(projects.c.id == stale).values(last_activity_at=old))
        for project_id in (stale, fresh):
            face_id = f.face(conn, project_id, f.image(conn, project_id))
            f.decision(conn, face_id, project_id, owner)
            conn.execute(model_runs.insert().values(project_id=project_id, params=b"model"))
    with engine.begin() as conn:
        assert retention.inactive_projects(conn, days=365) == [stale]
        assert retention.erase_encodings(conn, stale) == 1
        assert retention.inactive_projects(conn, days=365) == []
        rows = _encodings(conn)
        assert rows[stale] is None and rows[fresh] is not None
        params = dict(conn.execute(select(model_runs.c.project_id, model_runs.c.params)).all())
        assert params[stale] is None and params[fresh] == b"model"
        assert conn.execute(select(projects.c.status).where(projects.c.id == stale)).scalar() \
            == "archived"
        assert len(conn.execute(select(decisions)).all()) == 2
        # Nobody uses the stale project's file any more: its encoding is gone too.
        assert conn.execute(select(detections.c.encoding).where(
            detections.c.encoding.is_not(None))).scalars().all() == [rows[fresh]]


def test_a_shared_file_keeps_its_encodings_while_another_project_uses_them(engine):
    """Retention is per project: the inactive project loses access, the active one keeps the
    encodings of the file both include; unarchiving links the old faces (and answers) again."""
    old = utcnow() - dt.timedelta(days=400)
    with engine.begin() as conn:
        owner = f.user(conn)
        stale, active = f.project(conn, owner), f.project(conn, owner, category="Active")
        conn.execute(update(projects).where(projects.c.id == stale).values(last_activity_at=old))
        shared = f.detect(conn, 7_100_001, [FACE])
        image = {}
        for project_id in (stale, active):
            image[project_id] = f.image(conn, project_id, page_id=shared.page_id)
            faces_store.link(conn, image[project_id], shared)
        answered = conn.execute(select(faces.c.id).where(faces.c.project_id == stale)
                                ).scalar_one()
        conn.execute(update(faces).where(faces.c.id == answered).values(label="yes"))
        f.decision(conn, answered, stale, owner)
    with engine.begin() as conn:
        assert retention.inactive_projects(conn, days=365) == [stale]
        assert retention.erase_encodings(conn, stale) == 1
        rows = _encodings(conn)
        assert rows[stale] is None and rows[active] == FACE.encoding
    with engine.begin() as conn:  # the owner brings it back: the image is linked again
        projects_db.update_settings(conn, stale, status="paused")
        assert conn.execute(select(images.c.status).where(images.c.id == image[stale])
                            ).scalar_one() == "pending"
        state = faces_store.file_rows.get(conn, shared.id)
        faces_store.link(conn, image[stale], state)
        row = conn.execute(select(faces.c.id, faces.c.label, faces.c.state).where(
            faces.c.project_id == stale)).one()
    assert tuple(row) == (answered, "yes", "active")   # the same face, its answer kept
    with engine.connect() as conn:
        assert _encodings(conn)[stale] == FACE.encoding


def test_a_deleted_projects_files_go_unless_another_project_includes_them(engine):
    with engine.begin() as conn:
        owner = f.user(conn)
        gone, kept = f.project(conn, owner), f.project(conn, owner, category="Kept")
        shared, alone = f.detect(conn, 7_200_001, [FACE]), f.detect(conn, 7_200_002, [FACE])
        for project_id, state in ((gone, shared), (kept, shared), (gone, alone)):
            faces_store.link(conn, f.image(conn, project_id, page_id=state.page_id), state)
        projects_db.delete_project(conn, gone)
        assert conn.execute(select(files.c.page_id)).scalars().all() == [shared.page_id]
        assert len(conn.execute(select(detections)).all()) == 1
