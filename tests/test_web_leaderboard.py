"""Leaderboards count distinct faces per person (not clicks, not images); undone answers and
skips do not count; per project for members, overall for everyone."""

from __future__ import annotations

from sqlalchemy import insert

from likeness.db import members, schema
from likeness.db.leaderboard import leaderboard
from tests import factories
from tests.fixtures.web import login


def _undo(conn, decision_id, face_id, project_id, user_id):
    conn.execute(insert(schema.decisions).values(
        face_id=face_id, project_id=project_id, user_id=user_id, answer="undo",
        undoes_id=decision_id))


def test_counts_distinct_faces(engine, web_app):
    with engine.begin() as conn:
        alice = factories.user(conn, "Alice")
        bob = factories.user(conn, "Bob")
        project_id = factories.project(conn, alice)
        other_project = factories.project(conn, bob, category="Other")
        members.add(conn, project_id, bob)
        group = factories.image(conn, project_id)  # one photo, five faces
        faces = [factories.face(conn, project_id, group) for _ in range(5)]
        for face in faces:
            factories.decision(conn, face, project_id, alice, "no")
        factories.decision(conn, faces[0], project_id, alice, "yes")  # changed her mind
        factories.decision(conn, faces[0], project_id, alice, "approve")  # and reviewed it
        factories.decision(conn, faces[1], project_id, bob, "skip")  # skips do not count
        undone = factories.decision(conn, faces[2], project_id, bob, "not_face")
        _undo(conn, undone, faces[2], project_id, bob)
        factories.decision(conn, faces[3], project_id, bob, "reject")
        elsewhere = factories.face(conn, other_project, factories.image(conn, other_project))
        factories.decision(conn, elsewhere, other_project, bob, "yes")
        factories.decision(conn, elsewhere, other_project, bob, "yes")
    with engine.connect() as conn:
        in_project = [(e.rank, e.username, e.faces) for e in leaderboard(conn, project_id)]
        overall = [(e.rank, e.username, e.faces) for e in leaderboard(conn)]
    assert in_project == [(1, "Alice", 5), (2, "Bob", 1)]
    assert overall == [(1, "Alice", 5), (2, "Bob", 2)]
    client = web_app.test_client()
    assert client.get("/api/leaderboard").get_json()["leaderboard"][1]["faces"] == 2
    assert "Alice" in client.get("/leaderboard").get_data(as_text=True)
    login(client, bob)
    entries = client.get(f"/api/projects/{project_id}/leaderboard").get_json()["leaderboard"]
    assert [(e["username"], e["faces"]) for e in entries] == [("Alice", 5), ("Bob", 1)]
