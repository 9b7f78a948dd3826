"""Constraints the product relies on, checked on the real database of the test run."""

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from likeness.db import schema
from tests import factories as f


def count(conn, table) -> int:
    return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_one_edit_per_file_and_qid_across_projects(engine):
    with engine.begin() as conn:
        owner = f.user(conn)
        p1, p2 = f.project(conn, owner), f.project(conn, owner, category="Other")
        conn.execute(insert(schema.edits).values(page_id=7, qid="Q42", title="File:A.jpg",
                                                 project_id=p1))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(schema.edits).values(page_id=7, qid="Q42", title="File:A.jpg",
                                                 project_id=p2))
    with engine.begin() as conn:  # another person on the same file is a different edit
        conn.execute(insert(schema.edits).values(page_id=7, qid="Q1", title="File:A.jpg",
                                                 project_id=p2))
        assert count(conn, schema.edits) == 2


def test_deleting_a_project_removes_every_derived_row(engine):
    with engine.begin() as conn:
        owner = f.user(conn)
        keep = f.project(conn, owner, category="Keep")
        gone = f.project(conn, owner)
        for project_id in (keep, gone):
            image_id = f.image(conn, project_id)
            face_id = f.face(conn, project_id, image_id)
            f.decision(conn, face_id, project_id, owner)
            conn.execute(insert(schema.model_runs).values(project_id=project_id, params=b"x"))
            conn.execute(insert(schema.jobs).values(kind="train", project_id=project_id))
            conn.execute(insert(schema.invites).values(project_id=project_id, code_hint="ab",
                                                       code_hash=f"{project_id:064d}"))
            conn.execute(insert(schema.edits).values(page_id=project_id, qid="Q42",
                                                     title="File:X.jpg", project_id=project_id,
                                                     face_id=face_id, state="done"))
    with engine.begin() as conn:
        conn.execute(delete(schema.projects).where(schema.projects.c.id == gone))
    with engine.begin() as conn:
        for table in (schema.images, schema.faces, schema.decisions, schema.model_runs,
                      schema.jobs, schema.invites, schema.project_members):
            remaining = conn.execute(select(table.c.project_id)).scalars().all()
            assert remaining == [keep], table.name
        # The encodings went with the faces; what was written on Commons stays on record.
        assert count(conn, schema.faces) == 1
        edits = dict(conn.execute(select(schema.edits.c.page_id,
                                         schema.edits.c.project_id)).all())
        assert edits == {keep: keep, gone: None}


def test_invite_code_hash_is_unique(engine):
    with engine.begin() as conn:
        project_id = f.project(conn, f.user(conn))
        conn.execute(insert(schema.invites).values(project_id=project_id, code_hash="a" * 64,
                                                   code_hint="aaaa"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(schema.invites).values(project_id=project_id, code_hash="a" * 64,
                                                   code_hint="aaaa"))


def test_a_file_appears_once_per_project(engine):
    with engine.begin() as conn:
        project_id = f.project(conn, f.user(conn))
        f.image(conn, project_id, page_id=99)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        f.image(conn, project_id, page_id=99)


@pytest.mark.parametrize("table, values", [
    ("faces", {"label": "maybe"}),
    ("projects", {"status": "deleted"}),
])
def test_check_constraints_refuse_unknown_states(engine, table, values):
    with engine.begin() as conn:
        owner = f.user(conn)
        project_id = f.project(conn, owner)
        image_id = f.image(conn, project_id)
    # MariaDB reports a failed CHECK as an OperationalError, SQLite as an IntegrityError.
    with pytest.raises((IntegrityError, OperationalError)), engine.begin() as conn:
        if table == "faces":
            f.face(conn, project_id, image_id, **values)
        else:
            f.project(conn, owner, **values)


def test_deleting_a_user_removes_their_decisions(engine):
    with engine.begin() as conn:
        owner, helper = f.user(conn), f.user(conn)
        project_id = f.project(conn, owner)
        face_id = f.face(conn, project_id, f.image(conn, project_id))
        f.decision(conn, face_id, project_id, owner)
        f.decision(conn, face_id, project_id, helper, "no")
    with engine.begin() as conn:
        conn.execute(delete(schema.users).where(schema.users.c.id == helper))
        answers = conn.execute(select(schema.decisions.c.answer)).scalars().all()
    assert answers == ["yes"]
