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
        overall = [(e.rank, e.username, e.faces) for e in leaderboard(conn, viewer_id=bob)]
    assert in_project == [(1, "Alice", 5), (2, "Bob", 1)]
    assert overall == [(1, "Alice", 5), (2, "Bob", 2)]
    client = web_app.test_client()
    assert client.get("/api/leaderboard").get_json()["leaderboard"][1]["faces"] == 2
    login(client, bob)
    assert "Alice" in client.get("/leaderboard").get_data(as_text=True)  # they share a project
    entries = client.get(f"/api/projects/{project_id}/leaderboard").get_json()["leaderboard"]
    assert [(e["username"], e["faces"]) for e in entries] == [("Alice", 5), ("Bob", 1)]


def test_the_public_board_does_not_name_members_of_private_projects(engine, web_app):
    with engine.begin() as conn:
        secret = factories.user(conn, "Secret Labeller")
        colleague = factories.user(conn, "Colleague")
        outsider = factories.user(conn, "Outsider")
        private = factories.project(conn, secret, category="Private")
        members.add(conn, private, colleague)
        face = factories.face(conn, private, factories.image(conn, private))
        factories.decision(conn, face, private, secret, "yes")
        mine = factories.project(conn, outsider, category="Mine")
        own_face = factories.face(conn, mine, factories.image(conn, mine))
        factories.decision(conn, own_face, mine, outsider, "no")
    anonymous = web_app.test_client()
    stranger = web_app.test_client()
    login(stranger, outsider)
    friend = web_app.test_client()
    login(friend, colleague)
    for client in (anonymous, stranger):
        assert "Secret Labeller" not in client.get("/leaderboard").get_data(as_text=True)
        board = client.get("/api/leaderboard").get_json()["leaderboard"]
        assert [e["faces"] for e in board] == [1, 1]
        assert "Secret Labeller" not in str(board) and secret not in [e["user_id"] for e in board]
    # You see yourself, and the people you share a project with.
    assert {e["username"] for e in stranger.get("/api/leaderboard").get_json()["leaderboard"]} \
        == {"Outsider", None}
    assert {e["username"] for e in friend.get("/api/leaderboard").get_json()["leaderboard"]} \
        == {"Secret Labeller", None}
    assert "Secret Labeller" in friend.get("/leaderboard").get_data(as_text=True)
