"""What the sender adds beyond depicts + region, against the stand-in over HTTP: the rank of a
new statement ("preferred" for the photo's main subject, in the same wbeditentity), and the
files it leaves alone: protected pages, files already depicting an item about the person, and
faces whose file was re-uploaded since they were confirmed."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from likeness.db import edits as edit_rows
from likeness.db.schema import faces
from likeness.edits import plan
from likeness.edits.rank import rank_for
from likeness.edits.sender import Sender
from standin.faces_catalog import EVENT, PORTRAIT
from tests import factories
from tests.fixtures.edits import TARGET_QID, decoded_data
from webapp.edit_reasons import reason


def _send_all(env) -> list[str]:
    with env.engine.begin() as conn:
        plan.queue_project(conn, env.project_id, env.user_id, "abcdef012345")
    sender, states = Sender(env.engine, env.cfg, "test-worker"), []
    while True:
        with env.engine.begin() as conn:
            edit = edit_rows.claim_next(conn, "test-worker", 60)
        if edit is None:
            return states
        states.append(sender.send(edit))


def _other_face(env, face_id: int, box: tuple[float, float, float, float]) -> None:
    """Another face (somebody else) on the same image of the project."""
    with env.engine.begin() as conn:
        image_id = conn.execute(select(faces.c.image_id).where(faces.c.id == face_id)
                                ).scalar_one()
        left, top, width, height = box
        factories.face(conn, env.project_id, image_id, box_left=left, box_top=top,
                       box_width=width, box_height=height)


def _row(env, page_id):
    with env.engine.connect() as conn:
        return edit_rows.for_pair(conn, page_id, TARGET_QID)


def test_the_rule_for_the_main_subject():
    portrait = (0.3, 0.2, 0.35, 0.45)             # 16 % of the image
    assert rank_for(portrait, []) == "preferred"
    assert rank_for(portrait, [(0.8, 0.1, 0.1, 0.1)]) == "preferred"   # a face in the back
    assert rank_for(portrait, [(0.0, 0.2, 0.3, 0.4)]) == "normal"      # two people
    assert rank_for((0.5, 0.5, 0.1, 0.1), []) == "normal"             # 1 %: a crowd shot


def test_main_subject_gets_preferred_rank_and_a_group_photo_normal(edits_env):
    env = edits_env
    portrait, pair = env.file("Bill Gates 3.jpg"), env.file("Bill Gates 4.jpg")
    main = env.confirm(portrait.title, box=(0.3, 0.2, 0.3, 0.4))      # 12 %
    _other_face(env, main, (0.85, 0.05, 0.08, 0.1))                    # someone small behind
    one_of_two = env.confirm(pair.title, box=(0.1, 0.2, 0.2, 0.25))  # 5 %
    _other_face(env, one_of_two, (0.6, 0.2, 0.18, 0.24))              # a second, as large
    start = env.seq()
    assert _send_all(env) == ["done", "done"]
    ranks = {post["id"]: decoded_data(post)["claims"][0]["rank"] for post in env.posts(start)}
    assert ranks == {f"M{portrait.pageid}": "preferred", f"M{pair.pageid}": "normal"}
    for page, rank in ((portrait, "preferred"), (pair, "normal")):
        (statement,) = env.depicts(page.pageid)
        assert statement["rank"] == rank                         # as stored on Commons
        assert json.loads(_row(env, page.pageid).written_json)["rank"] == rank


def test_a_protected_file_is_skipped_with_its_reason(edits_env):
    env = edits_env
    page = env.file("Bill Gates 3.jpg")
    env.standin.protect(page.title, "autoconfirmed")
    env.confirm(page.title)
    start = env.seq()
    assert _send_all(env) == ["skipped"]
    assert env.posts(start) == [] and env.depicts(page.pageid) == []
    row = _row(env, page.pageid)
    assert (row.state, row.error_code) == ("skipped", "protected")
    assert "protected (autoconfirmed)" in row.error_message
    assert "protected" in reason(row.error_code, row.error_message)["text"]  # the edits page
    protection_reads = env.standin.requests_log("commons.api", prop="info", since=start)
    assert protection_reads and protection_reads[0]["params"]["inprop"] == "protection"


def test_a_file_depicting_an_item_about_the_person_is_skipped(edits_env, faces_dir):
    """P180 = a painting whose item depicts the person: adding the person would repeat it.
    P180 = an event they attended says nothing of the kind: that file gets its statement."""
    env = edits_env
    photo = faces_dir / "people" / "bill_gates" / "6.jpg"
    painting = env.standin.add_file(photo, "File:Painted portrait test.jpg", [], sdc={
        "labels": {}, "statements": [{"property": "P180", "value": PORTRAIT}]})
    event = env.standin.add_file(photo, "File:Summit test.jpg", [], sdc={
        "labels": {}, "statements": [{"property": "P180", "value": EVENT}]})
    env.confirm(painting.title, page_id=painting.pageid)
    env.confirm(event.title, page_id=event.pageid)
    start = env.seq()
    assert sorted(_send_all(env)) == ["done", "skipped"]
    (post,) = env.posts(start)
    assert post["id"] == f"M{event.pageid}"
    row = _row(env, painting.pageid)
    assert (row.state, row.error_code) == ("skipped", "depicted_more_specifically")
    assert PORTRAIT in row.error_message
    assert "item about this person" in reason(row.error_code, row.error_message)["text"]
    assert [s["mainsnak"]["datavalue"]["value"]["id"]
            for s in env.depicts(painting.pageid)] == [PORTRAIT]


def test_a_face_of_a_replaced_file_version_is_never_sent(edits_env):
    """The file was re-uploaded after the face was confirmed and queued: the old version's
    face is superseded, so its region is not written."""
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    face = env.confirm(page.title)
    with env.engine.begin() as conn:
        plan.queue_project(conn, env.project_id, env.user_id, "abcdef012345")
        conn.execute(update(faces).where(faces.c.id == face).values(state="superseded"))
    start = env.seq()
    sender = Sender(env.engine, env.cfg, "test-worker")
    with env.engine.begin() as conn:
        edit = edit_rows.claim_next(conn, "test-worker", 60)
    assert sender.send(edit) == "cancelled"
    assert env.posts(start) == [] and env.depicts(page.pageid) == []
