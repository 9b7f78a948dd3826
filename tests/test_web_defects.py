"""Smaller defects of issue 14, each pinned: no '0.0 %' precision when nothing is proposed;
pausing a project stops labelling and the label page says so; a drawn box records the answer
the drawer chose (not a silent yes); the classify page links the Commons file page. (Review
cards' accessible names and the drawn box staying visible are checked in a real browser:
tests/test_browser_edits.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from likeness.db import members
from likeness.db.schema import decisions, faces, model_runs, projects
from tests import factories as f
from tests.fixtures.web import csrf_headers, login


@pytest.fixture
def project(engine):
    with engine.begin() as conn:
        owner = f.user(conn, "Owner")
        helper = f.user(conn, "Helper")
        project_id = f.project(conn, owner)
        members.add(conn, project_id, helper, "labeller")
        image = f.image(conn, project_id, status="done", thumb_url="http://u/t.jpg",
                        thumb_width=800, thumb_height=600)
        face_ids = [f.face(conn, project_id, image) for _ in range(3)]
    return {"id": project_id, "owner": owner, "helper": helper, "image": image,
            "faces": face_ids}


def _client(app, user):
    client = app.test_client()
    login(client, user)
    return client


def _post(client, url, body):
    return client.post(url, json=body, headers=csrf_headers(client))


def test_no_precision_is_claimed_while_nothing_is_proposed(web_app, engine, project):
    with engine.begin() as conn:
        conn.execute(insert(model_runs).values(project_id=project["id"], threshold=0.9,
                                               precision_estimate=0.0, recall_estimate=0.0))
    client = _client(web_app, project["owner"])
    page = client.get(f"/projects/{project['id']}").get_data(as_text=True)
    assert '<span id="model-estimates" hidden>' in page
    assert '<span id="model-no-proposals">' in page and "proposes no faces yet" in page
    with engine.begin() as conn:      # now one unlabelled face scores above the threshold
        conn.execute(update(faces).where(faces.c.id == project["faces"][0]).values(score=0.95))
    page = client.get(f"/projects/{project['id']}").get_data(as_text=True)
    assert '<span id="model-estimates">' in page
    assert '<span id="model-no-proposals" hidden>' in page


def test_a_paused_project_takes_no_labelling_and_says_so(web_app, engine, project):
    with engine.begin() as conn:
        conn.execute(update(projects).values(status="paused"))
    helper = _client(web_app, project["helper"])
    page = helper.get(f"/projects/{project['id']}/label").get_data(as_text=True)
    assert 'id="paused-notice"' in page and "paused this project" in page
    assert 'data-paused="1"' in page
    base = f"/api/projects/{project['id']}"
    for url, body in (("/queue/next", {"k": 3}),
                      ("/answers", {"face_id": project["faces"][0], "answer": "yes"}),
                      ("/undo", {}),
                      ("/boxes", {"image_id": project["image"],
                                  "box": {"left": .5, "top": .2, "width": .1, "height": .1}}),
                      ("/review", {"approve": [], "reject": [], "token": "t"})):
        response = _post(helper, base + url, body)
        assert response.status_code == 409, url
        assert response.get_json()["error"]["code"] == "paused", url
    with engine.connect() as conn:
        assert conn.execute(select(decisions.c.id)).all() == []
    # Resumed: labelling works again.
    with engine.begin() as conn:
        conn.execute(update(projects).values(status="active"))
    assert _post(helper, base + "/queue/next", {"k": 1}).status_code == 200


def test_a_drawn_box_records_the_answer_the_drawer_chose(web_app, engine, project):
    client = _client(web_app, project["owner"])
    url = f"/api/projects/{project['id']}/boxes"
    box = {"left": 0.5, "top": 0.25, "width": 0.125, "height": 0.2}
    other = _post(client, url, {"image_id": project["image"], "box": box, "answer": "no",
                                "token": "b-no"})
    mine = _post(client, url, {"image_id": project["image"], "box": box, "token": "b-yes"})
    bad = _post(client, url, {"image_id": project["image"], "box": box, "answer": "maybe"})
    assert (other.status_code, mine.status_code) == (201, 201)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_answer"
    with engine.connect() as conn:
        got = dict(conn.execute(select(decisions.c.face_id, decisions.c.answer)
                                .where(decisions.c.via == "box")).all())
        labels = dict(conn.execute(select(faces.c.id, faces.c.label).where(
            faces.c.id.in_([other.get_json()["id"], mine.get_json()["id"]]))).all())
    assert got == {other.get_json()["id"]: "no", mine.get_json()["id"]: "yes"}
    assert labels == {other.get_json()["id"]: "no", mine.get_json()["id"]: "yes"}


def test_the_classify_page_knows_where_the_commons_file_pages_are(web_app, project):
    html = _client(web_app, project["owner"]).get(
        f"/projects/{project['id']}/label").get_data(as_text=True)
    assert 'data-wiki="https://commons.wikimedia.org/wiki/"' in html
    assert 'id="draw-save-other"' in html and 'data-paused=""' in html
