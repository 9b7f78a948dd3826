"""Batch confirmation in classify (grid pages of the model's proposals) and the stop signal,
through the JSON API on the test database (Flask test client, SQLite or MariaDB)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from likeness.db import leaderboard, members
from likeness.db.schema import decisions, faces, model_runs
from tests import factories
from tests.fixtures.web import csrf_headers, login

# Scores of the project's faces; the threshold is 0.5 (no model run, none set by the owner),
# so the last six are proposals. 0.01 is a face the model finds unlikely.
SCORES = [0.01, 0.2, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95]


@pytest.fixture
def setup(engine, make_app):
    with engine.begin() as conn:
        owner = factories.user(conn, "Owner")
        helper = factories.user(conn, "Helper")
        outsider = factories.user(conn, "Outsider")
        project = factories.project(conn, owner)
        members.add(conn, project, helper, "labeller")
        face_ids = []
        for n, score in enumerate(SCORES):
            image = factories.image(conn, project, status="done", thumb_url=f"http://u/{n}.jpg",
                                    thumb_width=800, thumb_height=600)
            # priority: the model's asking order (set by a run), lowest first.
            face_ids.append(factories.face(conn, project, image, score=score, priority=n))
    app = make_app()
    clients = {}
    for name, uid in (("owner", owner), ("helper", helper), ("outsider", outsider)):
        client = app.test_client()
        login(client, uid)
        clients[name] = client
    proposals = [f for f, s in zip(face_ids, SCORES, strict=True) if s >= 0.5]
    return {"app": app, "project": project, "faces": face_ids, "proposals": proposals,
            "owner_id": owner, "helper_id": helper, "outsider_id": outsider, **clients}


def post(client, url, body):
    return client.post(url, json=body, headers=csrf_headers(client))


def api(s, path):
    return f"/api/projects/{s['project']}{path}"


def labels(engine, ids):
    with engine.connect() as conn:
        return dict(conn.execute(select(faces.c.id, faces.c.label)
                                 .where(faces.c.id.in_(ids))).all())


def test_grid_next_reserves_best_first_and_never_the_same_face_twice(setup, engine):
    s = setup
    best = list(reversed(s["proposals"]))          # highest score first
    got = post(s["owner"], api(s, "/grid/next"), {"k": 3})
    assert got.status_code == 200
    assert got.json["label"] == "Douglas Adams"
    mine = [f["id"] for f in got.json["faces"]]
    assert mine == best[:3]
    assert got.json["faces"][0]["score"] == 0.95 and got.json["faces"][0]["thumb_url"]
    # The helper gets the rest of the proposals, never the owner's.
    theirs = [f["id"] for f in post(s["helper"], api(s, "/grid/next"), {"k": 12}).json["faces"]]
    assert theirs == best[3:]
    with engine.connect() as conn:
        reserved = dict(conn.execute(select(faces.c.id, faces.c.reserved_by)
                                     .where(faces.c.id.in_(s["proposals"]))).all())
    assert {reserved[i] for i in mine} == {s["owner_id"]}
    assert {reserved[i] for i in theirs} == {s["helper_id"]}
    # Nothing left for the owner beyond what the page holds; the single queue does not hand
    # the helper's faces to the owner either.
    again = post(s["owner"], api(s, "/grid/next"), {"k": 12, "held": mine})
    assert again.json["faces"] == []
    single = [f["id"] for f in post(s["owner"], api(s, "/queue/next"),
                                    {"k": 20, "held": mine}).json["faces"]]
    assert not set(single) & set(theirs) and not set(single) & set(mine)


def test_grid_next_reserves_nothing_below_min_and_skips_what_i_skipped(setup, engine):
    s = setup
    skipped = s["proposals"][0]
    skip = post(s["owner"], api(s, "/answers"),
                {"face_id": skipped, "answer": "skip", "token": "s"})
    assert skip.status_code == 200
    post(s["helper"], api(s, "/grid/next"), {"k": 3})      # the helper takes the best three
    # Left for the owner: six proposals minus the helper's three minus the skipped one = 2.
    few = post(s["owner"], api(s, "/grid/next"), {"k": 12, "min": 3})
    assert few.status_code == 200 and few.json["faces"] == []
    with engine.connect() as conn:
        mine = conn.execute(select(faces.c.id).where(
            faces.c.reserved_by == s["owner_id"])).scalars().all()
    assert mine == []                                      # nothing was reserved
    two = post(s["owner"], api(s, "/grid/next"), {"k": 12, "min": 2}).json["faces"]
    assert [f["id"] for f in two] == [s["proposals"][2], s["proposals"][1]]
    bad = post(s["owner"], api(s, "/grid/next"), {"k": 21})
    assert bad.status_code == 400 and bad.json["error"]["code"] == "bad_k"
    bad_min = post(s["owner"], api(s, "/grid/next"), {"min": 0})
    assert bad_min.status_code == 400 and bad_min.json["error"]["code"] == "bad_min"


def test_grid_submit_records_yes_and_no_via_grid_once_per_token(setup, engine):
    s = setup
    page = [f["id"] for f in post(s["owner"], api(s, "/grid/next"), {"k": 4}).json["faces"]]
    confirm, reject = page[:3], page[3:]
    done = post(s["owner"], api(s, "/grid"),
                {"confirm": confirm, "reject": reject, "token": "page-1"})
    assert done.status_code == 200
    assert done.json == {"confirmed": 3, "rejected": 1, "duplicates": 0}
    retry = post(s["owner"], api(s, "/grid"),
                 {"confirm": confirm, "reject": reject, "token": "page-1"})
    assert retry.json == {"confirmed": 0, "rejected": 0, "duplicates": 4}
    with engine.connect() as conn:
        rows = conn.execute(select(decisions.c.face_id, decisions.c.answer, decisions.c.via,
                                   decisions.c.client_token)
                            .order_by(decisions.c.id)).all()
    assert [(r.face_id, r.answer, r.via) for r in rows] == (
        [(f, "yes", "grid") for f in confirm] + [(f, "no", "grid") for f in reject])
    assert [r.client_token for r in rows] == [f"page-1:{f}" for f in page]
    assert labels(engine, page) == {**{f: "yes" for f in confirm}, **{f: "no" for f in reject}}
    # The same page token for another face, or with other answers: refused, nothing recorded.
    other = s["proposals"][0]
    reused = post(s["owner"], api(s, "/grid"), {"confirm": [other], "token": "page-1"})
    assert reused.status_code == 409 and reused.json["error"]["code"] == "token_reused"
    flipped = post(s["owner"], api(s, "/grid"),
                   {"confirm": confirm + reject, "reject": [], "token": "page-1"})
    assert flipped.status_code == 409
    assert labels(engine, [other]) == {other: None}
    assert labels(engine, reject) == {reject[0]: "no"}
    # Malformed pages.
    both = post(s["owner"], api(s, "/grid"), {"confirm": [other], "reject": [other],
                                              "token": "page-2"})
    assert both.status_code == 400 and both.json["error"]["code"] == "conflict"
    empty = post(s["owner"], api(s, "/grid"), {"confirm": [], "token": "page-3"})
    assert empty.status_code == 400 and empty.json["error"]["code"] == "empty_page"
    colon = post(s["owner"], api(s, "/grid"), {"confirm": [other], "token": "a:b"})
    assert colon.status_code == 400 and colon.json["error"]["code"] == "bad_token"
    missing = post(s["owner"], api(s, "/grid"), {"confirm": [999999], "token": "page-4"})
    assert missing.status_code == 404
    with engine.connect() as conn:
        assert len(conn.execute(select(decisions.c.id)).all()) == 4


def test_grid_answers_count_on_the_leaderboard_per_face(setup, engine):
    s = setup
    page = s["proposals"][:3]
    post(s["owner"], api(s, "/grid"), {"confirm": page[:2], "reject": page[2:], "token": "p"})
    post(s["owner"], api(s, "/answers"), {"face_id": s["faces"][0], "answer": "no",
                                          "token": "single"})
    with engine.connect() as conn:
        board = leaderboard.leaderboard(conn, s["project"])
    assert [(e.user_id, e.faces) for e in board] == [(s["owner_id"], 4)]


def test_undo_takes_back_the_whole_grid_page(setup, engine):
    s = setup
    single = s["faces"][1]
    post(s["owner"], api(s, "/answers"), {"face_id": single, "answer": "yes", "token": "a1"})
    page = [f["id"] for f in post(s["owner"], api(s, "/grid/next"), {"k": 5}).json["faces"]]
    post(s["owner"], api(s, "/grid"), {"confirm": page[1:], "reject": page[:1], "token": "g1"})
    assert set(labels(engine, page).values()) == {"yes", "no"}

    undo = post(s["owner"], api(s, "/undo"), {"token": "u1"})
    assert undo.status_code == 200
    assert undo.json["face"] is None
    assert sorted(d["face_id"] for d in undo.json["page"]["undone"]) == sorted(page)
    assert all(d["label"] is None and d["held"] for d in undo.json["page"]["undone"])
    assert sorted(f["id"] for f in undo.json["page"]["faces"]) == sorted(page)
    assert undo.json["undone"]["face_id"] in page
    # Every label of the page is NULL again, the faces are mine again; the earlier single
    # answer stays.
    assert labels(engine, page) == {f: None for f in page}
    assert labels(engine, [single]) == {single: "yes"}
    with engine.connect() as conn:
        held = dict(conn.execute(select(faces.c.id, faces.c.reserved_by)
                                 .where(faces.c.id.in_(page))).all())
        undos = conn.execute(select(decisions.c.undoes_id).where(
            decisions.c.answer == "undo")).scalars().all()
    assert set(held.values()) == {s["owner_id"]}
    assert len(undos) == len(page)

    # A retried undo (same token) undoes nothing more and answers the same page.
    retry = post(s["owner"], api(s, "/undo"), {"token": "u1"})
    assert sorted(d["face_id"] for d in retry.json["page"]["undone"]) == sorted(page)
    assert all(d["duplicate"] for d in retry.json["page"]["undone"])
    assert labels(engine, [single]) == {single: "yes"}

    # The next undo takes back the single answer before the page, as before.
    second = post(s["owner"], api(s, "/undo"), {"token": "u2"})
    assert second.json["page"] is None
    assert second.json["undone"]["face_id"] == single and second.json["face"]["id"] == single
    assert labels(engine, [single]) == {single: None}
    nothing = post(s["owner"], api(s, "/undo"), {"token": "u3"})
    assert nothing.json == {"undone": None, "face": None, "page": None}


def test_outsiders_cannot_ask_for_or_answer_grid_pages(setup, engine):
    s = setup
    for path, body in (("/grid/next", {"k": 12}),
                       ("/grid", {"confirm": s["proposals"], "token": "x1"})):
        r = post(s["outsider"], api(s, path), body)
        assert r.status_code == 403 and r.json["error"]["code"] == "not_member"
    anonymous = s["app"].test_client()
    r = post(anonymous, api(s, "/grid"), {"confirm": s["proposals"], "token": "x2"})
    assert r.status_code == 401
    assert labels(engine, s["proposals"]) == {f: None for f in s["proposals"]}
    with engine.connect() as conn:
        assert conn.execute(select(faces.c.id).where(
            faces.c.reserved_by.is_not(None))).all() == []
    # In a project of their own, with this project's faces: not found, nothing recorded.
    with engine.begin() as conn:
        theirs = factories.project(conn, s["outsider_id"], qid="Q1", category="Other")
    r = post(s["outsider"], f"/api/projects/{theirs}/grid",
             {"confirm": s["proposals"][:1], "reject": s["proposals"][1:2], "token": "x3"})
    assert r.status_code == 404 and r.json["error"]["code"] == "no_face"
    assert post(s["outsider"], f"/api/projects/{theirs}/grid/next", {}).json["faces"] == []
    assert labels(engine, s["proposals"]) == {f: None for f in s["proposals"]}
    with engine.connect() as conn:
        assert conn.execute(select(decisions.c.id)).all() == []


def test_paused_project_takes_no_grid_answers(setup, engine):
    s = setup
    from likeness.db.schema import projects

    with engine.begin() as conn:
        conn.execute(projects.update().where(projects.c.id == s["project"])
                     .values(status="paused"))
    r = post(s["owner"], api(s, "/grid"), {"confirm": s["proposals"][:1], "token": "p1"})
    assert r.status_code == 409 and r.json["error"]["code"] == "paused"
    assert post(s["owner"], api(s, "/grid/next"), {}).status_code == 409


def _model_run(engine, project, n_uncertain, expected_left):
    """A model run's stop estimate, as a run writes it (the next ten questions are expected
    to find at most what is left)."""
    with engine.begin() as conn:
        conn.execute(insert(model_runs).values(project_id=project, n_uncertain=n_uncertain,
                                               expected_left=expected_left,
                                               expected_next=min(expected_left, 1.5)))


def test_stop_signal_in_progress_and_done_leaves_out_unlikely_faces(setup, engine):
    s = setup
    unlikely = s["faces"][0]                        # score 0.01
    stop = s["helper"].get(api(s, "/progress")).json["stop"]
    assert stop == {"found": 0, "proposed": 6, "uncertain": None, "left_low": None,
                    "left_high": None, "done": False}
    _model_run(engine, s["project"], 2, 3.0)
    stop = s["helper"].get(api(s, "/progress")).json["stop"]
    assert stop["uncertain"] == 2 and stop["done"] is False
    assert stop["left_low"] <= 3 <= stop["left_high"]
    asked = [f["id"] for f in post(s["owner"], api(s, "/queue/next"), {"k": 20}).json["faces"]]
    assert unlikely in asked
    post(s["owner"], api(s, "/queue/release"), {"ids": asked})

    # The latest run says nothing is uncertain and fewer than half a face is left: done.
    _model_run(engine, s["project"], 0, 0.2)
    stop = s["helper"].get(api(s, "/progress")).json["stop"]
    assert stop["done"] is True and stop["uncertain"] == 0
    assert (stop["left_low"], stop["left_high"]) == (0, 1)
    asked = [f["id"] for f in post(s["owner"], api(s, "/queue/next"), {"k": 20}).json["faces"]]
    assert unlikely not in asked and s["faces"][1] in asked        # 0.2 is still asked
    more = post(s["owner"], api(s, "/queue/next"), {"k": 20, "held": asked, "more": True})
    assert [f["id"] for f in more.json["faces"]] == [unlikely]
    bad = post(s["owner"], api(s, "/queue/next"), {"more": "yes"})
    assert bad.status_code == 400 and bad.json["error"]["code"] == "bad_more"
    # The project page says so, in words.
    html = s["helper"].get(f"/projects/{s['project']}/progress").get_data(as_text=True)
    assert "Done for now: 0 found, about 0–1 left." in html
    assert "Keep asking anyway" in html
    # A run older than the latest answers never claims more than the faces still open.
    _model_run(engine, s["project"], 50, 30.0)
    stop = s["helper"].get(api(s, "/progress")).json["stop"]
    open_faces = len(s["faces"])
    assert stop["uncertain"] == open_faces and stop["left_high"] == open_faces


def test_classify_page_has_the_grid_and_stop_signal(setup):
    s = setup
    html = s["owner"].get(f"/projects/{s['project']}/label").get_data(as_text=True)
    assert 'id="grid"' in html and "grid/next" in html and "js/grid.js" in html
    assert "Are these all Douglas Adams?" in html and 'id="stop-signal"' in html
    assert "style=" not in html
    german = s["owner"].get(f"/projects/{s['project']}/label",
                            headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Zeigen alle diese Gesichter Douglas Adams?" in german
    assert "Trotzdem weiter fragen" in german
