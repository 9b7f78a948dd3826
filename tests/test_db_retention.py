import datetime as dt

from sqlalchemy import select, update

from likeness.db import retention
from likeness.db.schema import decisions, faces, model_runs, projects, utcnow
from tests import factories as f


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
        rows = dict(conn.execute(select(faces.c.project_id, faces.c.encoding)).all())
        assert rows[stale] is None and rows[fresh] is not None
        params = dict(conn.execute(select(model_runs.c.project_id, model_runs.c.params)).all())
        assert params[stale] is None and params[fresh] == b"model"
        assert conn.execute(select(projects.c.status).where(projects.c.id == stale)).scalar() \
            == "archived"
        assert len(conn.execute(select(decisions)).all()) == 2
