"""The labelling JSON API and pages through the Flask test client on the test database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from likeness.db import members
from likeness.db.schema import decisions, faces, jobs, workers
from tests import factories
from tests.fixtures.web import csrf_headers, login


@pytest.fixture
def setup(engine, make_app):
    with engine.begin() as conn:
        owner = factories.user(conn, "Owner")
        helper = factories.user(conn, "Helper")
        project = factories.project(conn, owner, reference_file="File:Douglas adams portrait.jpg")
        members.add(conn, project, helper, "labeller")
        image = factories.image(conn, project, status="done", thumb_url="http://u/t.jpg",
                                thumb_width=800, thumb_height=600)
        face_ids = [factories.face(conn, project, image) for _ in range(8)]
    app = make_app()
    clients = {}
    for name, uid in (("owner", owner), ("helper", helper)):
        client = app.test_client()
        login(client, uid)
        clients[name] = client
    return {"app": app, "project": project, "image": image, "faces": face_ids,
            "owner_id": owner, "helper_id": helper, **clients}


def post(client, url, body):
    return client.post(url, json=body, headers=csrf_headers(client))


def api(s, path):
    return f"/api/projects/{s['project']}{path}"


def test_classify_page_renders_with_reference_and_urls(setup):
    page = setup["owner"].get(f"/projects/{setup['project']}/label")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="classify"' in html and "queue/next" in html
    # P18 thumbnail on the upload host, hashed path like Commons.
    assert "/wikipedia/commons/thumb/" in html and "330px-Douglas_adams_portrait.jpg" in html
    assert "style=" not in html   # strict CSP: no inline styles


def test_next_answer_undo_round_trip(setup, engine):
    s = setup
    got = post(s["owner"], api(s, "/queue/next"), {"k": 3})
    assert got.status_code == 200
    ids = [f["id"] for f in got.json["faces"]]
    assert ids == s["faces"][:3]
    assert got.json["faces"][0]["box"] == {"left": 0.1, "top": 0.2, "width": 0.3, "height": 0.4}
    # The other 7 faces of the same image come along as context boxes.
    assert len(got.json["faces"][0]["others"]) == 7
    # The helper never gets the owner's reserved faces.
    theirs = post(s["helper"], api(s, "/queue/next"), {"k": 3}).json["faces"]
    assert not {f["id"] for f in theirs} & set(ids)
    ok = post(s["owner"], api(s, "/answers"), {"face_id": ids[0], "answer": "yes", "token": "a1"})
    assert ok.status_code == 200 and ok.json["label"] == "yes"
    retry = post(s["owner"], api(s, "/answers"),
                 {"face_id": ids[0], "answer": "yes", "token": "a1"})
    assert retry.json["duplicate"] is True
    undo = post(s["owner"], api(s, "/undo"), {"token": "u1"})
    assert undo.json["undone"]["face_id"] == ids[0]
    assert undo.json["face"]["id"] == ids[0]
    assert undo.json["undone"]["label"] is None
    nothing = post(s["owner"], api(s, "/undo"), {"token": "u2"})
    assert nothing.json == {"undone": None, "face": None, "page": None}
    with engine.connect() as conn:
        answers = conn.execute(select(decisions.c.answer).order_by(decisions.c.id)).scalars()
        assert list(answers) == ["yes", "undo"]


def test_bad_requests_get_json_errors(setup):
    s = setup
    bad = post(s["owner"], api(s, "/answers"), {"face_id": s["faces"][0], "answer": "approve"})
    assert bad.status_code == 400 and bad.json["error"]["code"] == "bad_answer"
    missing = post(s["owner"], api(s, "/answers"), {"face_id": 999999, "answer": "yes"})
    assert missing.status_code == 404 and missing.json["error"]["code"] == "no_face"
    k = post(s["owner"], api(s, "/queue/next"), {"k": "lots"})
    assert k.status_code == 400 and k.json["error"]["code"] == "bad_k"
    no_csrf = s["owner"].post(api(s, "/answers"), json={"face_id": s["faces"][0],
                                                         "answer": "yes"})
    assert no_csrf.status_code in (400, 403)


def test_skip_hides_from_me_only(setup):
    s = setup
    first = post(s["owner"], api(s, "/queue/next"), {"k": 1}).json["faces"][0]["id"]
    post(s["owner"], api(s, "/answers"), {"face_id": first, "answer": "skip", "token": "s1"})
    mine = [f["id"] for f in post(s["owner"], api(s, "/queue/next"), {"k": 8}).json["faces"]]
    theirs = [f["id"] for f in post(s["helper"], api(s, "/queue/next"), {"k": 8}).json["faces"]]
    assert first not in mine and first in theirs


def test_drawn_box_validated_and_queued(setup, engine):
    s = setup
    small = post(s["owner"], api(s, "/boxes"), {
        "image_id": s["image"], "box": {"left": 0.1, "top": 0.1, "width": 0.012, "height": 0.1}})
    assert small.status_code == 422 and small.json["error"]["code"] == "too_small"
    outside = post(s["owner"], api(s, "/boxes"), {
        "image_id": s["image"], "box": {"left": 0.95, "top": 0.1, "width": 0.1, "height": 0.1}})
    assert outside.status_code == 422 and outside.json["error"]["code"] == "out_of_image"
    made = post(s["owner"], api(s, "/boxes"), {
        "image_id": s["image"], "token": "b1",
        "box": {"left": 0.5, "top": 0.25, "width": 0.125, "height": 0.2}})
    assert made.status_code == 201 and made.json["state"] == "encoding"
    face_id = made.json["id"]
    again = post(s["owner"], api(s, "/boxes"), {
        "image_id": s["image"], "token": "b1",
        "box": {"left": 0.5, "top": 0.25, "width": 0.125, "height": 0.2}})
    assert again.json["id"] == face_id          # a retried POST draws no second box
    state = s["owner"].get(api(s, f"/faces/{face_id}")).json
    assert state["box"] == {"left": 0.5, "top": 0.25, "width": 0.125, "height": 0.2}
    with engine.connect() as conn:
        job = conn.execute(select(jobs).where(jobs.c.kind == "encode_box")).one()
        row = conn.execute(select(faces).where(faces.c.id == face_id)).one()
    assert job.face_id == face_id
    assert (row.source, row.detection_id, row.created_by) == ("manual", None, s["owner_id"])
    listed = s["owner"].get(api(s, f"/images/{s['image']}/faces")).json["faces"]
    assert face_id in [f["id"] for f in listed]


def test_review_page_and_submit(setup, engine):
    s = setup
    with engine.begin() as conn:
        for n, face_id in enumerate(s["faces"]):
            conn.execute(faces.update().where(faces.c.id == face_id).values(score=0.3 + n * 0.1))
    page = s["owner"].get(api(s, "/review?source=model"))
    assert page.status_code == 200
    ids = [f["id"] for f in page.json["faces"]]
    assert ids == s["faces"][2:]      # scores 0.5 .. 1.0, lowest first
    bad = s["owner"].get(api(s, "/review?source=robot"))
    assert bad.status_code == 400
    done = post(s["owner"], api(s, "/review"),
                {"approve": ids[1:], "reject": ids[:1], "token": "page-1"})
    assert done.json == {"approved": len(ids) - 1, "rejected": 1, "duplicates": 0}
    assert s["owner"].get(api(s, "/review?source=model")).json["faces"] == []
    html = s["owner"].get(f"/projects/{s['project']}/review").get_data(as_text=True)
    assert 'id="review-grid"' in html


def test_progress_numbers_histogram_and_worker_banner(setup, engine):
    s = setup
    with engine.begin() as conn:
        for n, face_id in enumerate(s["faces"]):
            conn.execute(faces.update().where(faces.c.id == face_id)
                         .values(score=n / 8, label="yes" if n >= 6 else None))
        conn.execute(faces.update().where(faces.c.id == s["faces"][0]).values(label="no"))
    snap = s["helper"].get(api(s, "/progress")).json
    assert snap["progress"]["images_total"] == 1
    assert snap["progress"]["faces_labelled"] == 3
    assert snap["progress"]["faces_proposed"] == 2      # unlabelled 0.5 and 0.625
    assert sum(snap["histogram"]["positive"]) == 2
    assert snap["histogram"]["negative"][0] == 1
    assert snap["worker"]["alive"] is False
    html = s["helper"].get(f"/projects/{s['project']}/progress").get_data(as_text=True)
    assert 'id="worker-banner"' in html and 'role="alert"' in html
    with engine.begin() as conn:
        conn.execute(workers.insert().values(id="w1", hostname="h", pid=1))
    assert s["helper"].get(api(s, "/progress")).json["worker"]["alive"] is True


def test_outsider_cannot_label(setup, engine):
    s = setup
    with engine.begin() as conn:
        stranger = factories.user(conn)
    client = s["app"].test_client()
    login(client, stranger)
    r = post(client, api(s, "/answers"), {"face_id": s["faces"][0], "answer": "yes"})
    assert r.status_code == 403


def test_pages_are_translated(setup):
    s = setup
    german = {"Accept-Language": "de-DE,de;q=0.9"}
    label = s["owner"].get(f"/projects/{s['project']}/label", headers=german)
    html = label.get_data(as_text=True)
    assert "Ist das Douglas Adams?" in html and "Rückgängig" in html
    assert "Vorschläge prüfen" in s["owner"].get(
        f"/projects/{s['project']}/review", headers=german).get_data(as_text=True)
    assert "Kein Worker läuft" in s["owner"].get(
        f"/projects/{s['project']}/progress", headers=german).get_data(as_text=True)
