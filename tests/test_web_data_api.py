"""A project's faces and decisions through the API: members only, paged with a cursor,
filters, no encodings, and clear 400s for bad parameters."""

from __future__ import annotations

from likeness.db import decisions as decision_rows
from likeness.db import members
from tests import factories
from tests.fixtures.web import login


def _setup(engine):
    with engine.begin() as conn:
        owner = factories.user(conn, "Owner")
        labeller = factories.user(conn, "Labeller")
        outsider = factories.user(conn)
        project = factories.project(conn, owner)
        members.add(conn, project, labeller, "labeller")
        image = factories.image(conn, project, page_id=7, thumb_url="/t/7.jpg")
        faces = [factories.face(conn, project, image) for _ in range(5)]
        decision_rows.record(conn, project_id=project, face_id=faces[0], user_id=owner,
                             answer="yes")
        decision_rows.record(conn, project_id=project, face_id=faces[1], user_id=labeller,
                             answer="no")
        decision_rows.undo_latest(conn, project_id=project, user_id=labeller)
    return owner, labeller, outsider, project, faces


def test_faces_are_listed_by_id_with_a_cursor_and_a_label_filter(web_app, engine):
    _, labeller, _, project, faces = _setup(engine)
    client = web_app.test_client()
    login(client, labeller)
    first = client.get(f"/api/projects/{project}/faces?limit=2").get_json()
    assert [f["id"] for f in first["faces"]] == faces[:2]
    seen = [f["id"] for f in first["faces"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"/api/projects/{project}/faces?limit=2&cursor={cursor}").get_json()
        seen += [f["id"] for f in page["faces"]]
        cursor = page["next_cursor"]
    assert seen == faces
    face = first["faces"][0]
    assert face["label"] == "yes" and face["page_id"] == 7 and face["thumb_url"] == "/t/7.jpg"
    assert face["box"] == {"left": 0.1, "top": 0.2, "width": 0.3, "height": 0.4}
    assert "encoding" not in face
    yes = client.get(f"/api/projects/{project}/faces?label=yes").get_json()["faces"]
    unlabelled = client.get(f"/api/projects/{project}/faces?label=none").get_json()["faces"]
    assert [f["id"] for f in yes] == faces[:1] and len(unlabelled) == 4


def test_decisions_are_listed_in_order_with_undo_rows_and_filters(web_app, engine):
    owner, labeller, outsider, project, faces = _setup(engine)
    client = web_app.test_client()
    login(client, owner)
    rows = client.get(f"/api/projects/{project}/decisions").get_json()["decisions"]
    assert [(d["face_id"], d["username"], d["answer"]) for d in rows] == [
        (faces[0], "Owner", "yes"), (faces[1], "Labeller", "no"), (faces[1], "Labeller", "undo")]
    assert rows[2]["undoes_id"] == rows[1]["id"]
    mine = client.get(f"/api/projects/{project}/decisions?user_id={labeller}&limit=1").get_json()
    assert [d["answer"] for d in mine["decisions"]] == ["no"] and mine["next_cursor"]
    for bad in ("faces?label=maybe", "faces?cursor=-1", "faces?limit=501",
                "decisions?user_id=x", "decisions?cursor=1e3", "faces?limit=²",
                "decisions?face_id=9" + "9" * 30):
        response = client.get(f"/api/projects/{project}/{bad}")
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["code"].startswith("bad_")
    login(client, outsider)
    assert client.get(f"/api/projects/{project}/faces").status_code == 403
    assert client.get(f"/api/projects/{project}/decisions").status_code == 403
