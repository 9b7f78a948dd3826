"""Odd input gets a 400 (or 404, 409) with a message, never a 500, and a client token names one
request only: reused elsewhere it reads nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from likeness.db import members
from likeness.db.schema import decisions, faces
from tests import factories
from tests.fixtures.web import csrf_headers, login


@pytest.fixture
def two_projects(engine, make_app):
    """A labeller in projects A and B (each with an image and faces), and A's owner."""
    with engine.begin() as conn:
        owner = factories.user(conn, "Owner")
        labeller = factories.user(conn, "Labeller")
        ids = {"owner": owner, "labeller": labeller}
        for name in ("a", "b"):
            project = factories.project(conn, owner, category=name.upper())
            members.add(conn, project, labeller, "labeller")
            image = factories.image(conn, project, status="done", thumb_width=800,
                                    thumb_height=600)
            ids[name] = project
            ids[f"{name}_image"] = image
            ids[f"{name}_faces"] = [factories.face(conn, project, image) for _ in range(3)]
    app = make_app()
    clients = {}
    for who in ("owner", "labeller"):
        clients[who] = app.test_client()
        login(clients[who], ids[who])
    return {**ids, "app": app, **clients}


def post(client, url, body):
    return client.post(url, json=body, headers=csrf_headers(client))


def test_a_token_reused_in_another_project_reads_nothing(two_projects, engine):
    """A removed member replays an old answer token from another project they still belong
    to: the old code answered with the face's current label."""
    t = two_projects
    face_a = t["a_faces"][0]
    first = post(t["labeller"], f"/api/projects/{t['a']}/answers",
                 {"face_id": face_a, "answer": "yes", "token": "tok-1"})
    assert first.status_code == 200
    t["owner"].delete(f"/api/projects/{t['a']}/members/{t['labeller']}",
                      headers=csrf_headers(t["owner"]))
    post(t["owner"], f"/api/projects/{t['a']}/answers", {"face_id": face_a, "answer": "no"})

    replay = post(t["labeller"], f"/api/projects/{t['b']}/answers",
                  {"face_id": t["b_faces"][0], "answer": "yes", "token": "tok-1"})
    assert replay.status_code == 409
    body = replay.get_json()
    assert body["error"]["code"] == "token_reused" and "label" not in body
    assert str(face_a) not in replay.get_data(as_text=True)
    with engine.connect() as conn:  # and nothing was recorded in B
        assert conn.execute(select(decisions.c.id).where(
            decisions.c.project_id == t["b"])).first() is None
    # The same token retried for the same answer still finds the first recording.
    assert post(t["labeller"], f"/api/projects/{t['b']}/answers",
                {"face_id": t["b_faces"][1], "answer": "no", "token": "tok-2"}).status_code == 200
    again = post(t["labeller"], f"/api/projects/{t['b']}/answers",
                 {"face_id": t["b_faces"][1], "answer": "no", "token": "tok-2"})
    assert again.status_code == 200 and again.get_json()["duplicate"] is True


@pytest.mark.parametrize("second", ["box_same_project", "box_other_project", "undo",
                                    "answer_other_face"])
def test_a_token_sent_again_with_another_request_is_a_conflict(two_projects, engine, second):
    t = two_projects
    assert post(t["labeller"], f"/api/projects/{t['a']}/answers",
                {"face_id": t["a_faces"][0], "answer": "yes", "token": "once"}).status_code == 200
    box = {"left": 0.5, "top": 0.5, "width": 0.2, "height": 0.2}
    url, body = {
        "box_same_project": (f"/api/projects/{t['a']}/boxes",
                             {"image_id": t["a_image"], "box": box, "token": "once"}),
        "box_other_project": (f"/api/projects/{t['b']}/boxes",
                              {"image_id": t["b_image"], "box": box, "token": "once"}),
        "undo": (f"/api/projects/{t['a']}/undo", {"token": "once"}),
        "answer_other_face": (f"/api/projects/{t['a']}/answers",
                              {"face_id": t["a_faces"][1], "answer": "no", "token": "once"}),
    }[second]
    response = post(t["labeller"], url, body)
    assert response.status_code == 409, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "token_reused"
    with engine.connect() as conn:
        assert conn.execute(select(decisions.c.id)).all().__len__() == 1
        assert conn.execute(select(faces.c.id).where(faces.c.source == "manual")).first() \
            is None


def test_a_retried_box_and_undo_still_find_their_first_recording(two_projects):
    t = two_projects
    box = {"left": 0.5, "top": 0.5, "width": 0.2, "height": 0.2}
    url = f"/api/projects/{t['a']}/boxes"
    first = post(t["labeller"], url, {"image_id": t["a_image"], "box": box, "token": "b1"})
    again = post(t["labeller"], url, {"image_id": t["a_image"], "box": box, "token": "b1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.get_json()["id"] == again.get_json()["id"]
    undo = f"/api/projects/{t['a']}/undo"
    once = post(t["labeller"], undo, {"token": "u1"}).get_json()["undone"]
    twice = post(t["labeller"], undo, {"token": "u1"}).get_json()["undone"]
    assert once["decision_id"] == twice["decision_id"] and twice["duplicate"] is True


def test_offset_must_be_plain_digits(two_projects):
    t = two_projects
    url = f"/api/projects/{t['a']}/review"
    for bad in ("²", "-1", "1e3", " 1", "١٢", "99999999999999999999999"):
        response = t["owner"].get(url, query_string={"offset": bad})
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["code"] == "bad_offset"
    assert t["owner"].get(url, query_string={"offset": "0"}).status_code == 200


def test_deeply_nested_json_is_a_400(two_projects):
    t = two_projects
    deep = "[" * 100_000 + "]" * 100_000
    for url in (f"/api/projects/{t['a']}/answers", f"/api/projects/{t['a']}/queue/next",
                "/api/join", "/api/projects"):
        response = t["owner"].post(url, data=deep, headers={**csrf_headers(t["owner"]),
                                                            "Content-Type": "application/json"})
        assert response.status_code == 400, url
        assert response.get_json()["error"]["code"] == "bad_json"
    nested_value = json.dumps({"face_id": t["a_faces"][0], "answer": [[[[["yes"]]]]]})
    response = t["owner"].post(f"/api/projects/{t['a']}/answers", data=nested_value,
                               headers={**csrf_headers(t["owner"]),
                                        "Content-Type": "application/json"})
    assert response.status_code == 400


@pytest.mark.parametrize("project_id", [2**31, 2**63, 2**64 + 5, 10**30])
def test_ids_too_large_for_the_database_are_not_found(two_projects, project_id):
    t = two_projects
    api = t["owner"].get(f"/api/projects/{project_id}")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"
    assert t["owner"].get(f"/projects/{project_id}").status_code == 404
    face = t["owner"].get(f"/api/projects/{t['a']}/faces/{project_id}")
    assert face.status_code == 404
    answer = post(t["owner"], f"/api/projects/{project_id}/answers",
                  {"face_id": 1, "answer": "yes"})
    assert answer.status_code == 404
