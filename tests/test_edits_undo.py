"""Undo against the stand-in: only statements this tool created and nobody changed since are
removed; a face rejected after its statement was written removes that one statement."""

from __future__ import annotations

from sqlalchemy import update

from likeness.db import edits as edit_rows
from likeness.db.schema import faces
from likeness.edits import plan
from likeness.edits.sender import Sender
from standin.wikibase import compact_statement, make_snak, set_qualifiers
from tests.fixtures.edits import TARGET_QID, statement_region
from worker import edits as worker_edits
from worker.context import WorkerContext
from worker.facepool import SharedPool
from worker.loop import build_worker


def _send_all(env):
    sender = Sender(env.engine, env.cfg, "test-worker")
    states = []
    while True:
        with env.engine.begin() as conn:
            edit = edit_rows.claim_next(conn, "test-worker", 60)
        if edit is None:
            return states
        states.append(sender.send(edit))


def _row(env, page_id):
    with env.engine.connect() as conn:
        return edit_rows.for_pair(conn, page_id, TARGET_QID)


def _values(env, page_id):
    return sorted((s["mainsnak"].get("datavalue") or {}).get("value", {}).get("id", "?")
                  for s in env.depicts(page_id))


def test_undo_removes_only_our_unchanged_statements(edits_env):
    env = edits_env
    unchanged = env.file("Bill Gates 5.jpg")
    changed = env.file("Bill Gates 12.jpg")
    theirs = env.file("Bill Gates 1.jpg")          # P180=Q already there, not ours
    for page in (unchanged, changed, theirs):
        env.confirm(page.title)
    with env.engine.begin() as conn:
        plan.queue_project(conn, env.project_id, env.user_id, "aaaaaaaaaaaa")
    assert sorted(_send_all(env)) == ["done", "done", "skipped"]
    theirs_before = env.entity(theirs.pageid)
    added_revision = _row(env, unchanged.pageid).revision_id

    # Someone else edits the region qualifier of one of our statements.
    with env.standin.world.lock:
        ent = env.standin.world.mediainfo[changed.pageid]
        stmt = ent.statements["P180"][0]
        set_qualifiers(stmt, [make_snak("P2677", "value", "pct:1,1,10,10")])
        env.standin.world.touch(ent, {stmt["id"]})

    with env.engine.begin() as conn:
        assert edit_rows.queue_undo(conn, env.project_id, env.user_id, "bbbbbbbbbbbb") == 2
    start = env.seq()
    assert sorted(_send_all(env)) == ["done", "skipped"]

    posts = env.posts(start)
    assert len(posts) == 1
    removed = _row(env, unchanged.pageid)
    assert {k: v for k, v in posts[0].items() if k not in ("token", "summary")} == {
        "action": "wbremoveclaims", "claim": removed.statement_id,
        "baserevid": str(added_revision),
        "maxlag": "5", "assert": "user", "format": "json", "formatversion": "2"}
    assert "editgroups-commons/b/CB/bbbbbbbbbbbb" in posts[0]["summary"]
    assert env.depicts(unchanged.pageid) == []
    assert (removed.state, removed.action) == ("done", "remove")
    kept = _row(env, changed.pageid)
    assert (kept.state, kept.error_code) == ("skipped", "changed_since")
    assert [statement_region(s) for s in env.depicts(changed.pageid)] == ["pct:1,1,10,10"]
    assert env.entity(theirs.pageid) == theirs_before


def test_undone_statement_already_removed_by_someone_else(edits_env):
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    env.confirm(page.title)
    with env.engine.begin() as conn:
        plan.queue_project(conn, env.project_id, env.user_id)
    assert _send_all(env) == ["done"]
    with env.standin.world.lock:
        ent = env.standin.world.mediainfo[page.pageid]
        ent.remove(ent.statements["P180"][0]["id"])
        env.standin.world.touch(ent, set())
    with env.engine.begin() as conn:
        edit_rows.queue_undo(conn, env.project_id, env.user_id, "cccccccccccc")
    start = env.seq()
    assert _send_all(env) == ["done"]
    assert env.posts(start) == []
    assert "already gone" in _row(env, page.pageid).error_message


def test_face_rejected_after_writing_removes_that_statement_only(edits_env):
    env = edits_env
    rejected = env.file("Bill Gates 5.jpg")
    kept = env.file("Bill Gates 12.jpg")
    face = env.confirm(rejected.title)
    env.confirm(kept.title)
    with env.engine.begin() as conn:
        plan.queue_project(conn, env.project_id, env.user_id)
    assert _send_all(env) == ["done", "done"]
    # Another editor adds a second depicts to the same file meanwhile: it must survive.
    with env.standin.world.lock:
        ent = env.standin.world.mediainfo[rejected.pageid]
        other = compact_statement(ent.id, {"property": "P180", "value": "Q144"}, "x")
        ent.add(other)
        env.standin.world.touch(ent, {other["id"]})
    with env.engine.begin() as conn:
        conn.execute(update(faces).where(faces.c.id == face).values(label="no"))

    sender = Sender(env.engine, env.cfg, "test-worker")
    start = env.seq()
    worker_edits.upkeep(WorkerContext(env.cfg, env.engine, SharedPool(env.cfg)))
    assert sender.send_next() is True   # upkeep queued the removal; it is sent
    assert sender.send_next() is False
    (post,) = env.posts(start)
    assert post["action"] == "wbremoveclaims"
    assert _values(env, rejected.pageid) == ["Q144"]
    assert _values(env, kept.pageid) == [TARGET_QID]
    assert _row(env, rejected.pageid).action == "remove"



def test_an_undo_is_sent_by_a_real_worker(edits_env):
    """An undone batch's removals, sent by a real Worker with every registered handler."""
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    env.confirm(page.title)
    with env.engine.begin() as conn:
        plan.queue_project(conn, env.project_id, env.user_id)
    worker = build_worker(env.cfg, env.engine)
    assert [name for name, _ in worker.handlers].count("edits") == 1
    worker.run_once()
    assert _values(env, page.pageid) == [TARGET_QID]
    with env.engine.begin() as conn:
        assert edit_rows.queue_undo(conn, env.project_id, env.user_id, "0123456789ab") == 1
    start = env.seq()
    worker.run_once()
    (post,) = env.posts(start)
    assert post["action"] == "wbremoveclaims"
    assert "editgroups-commons/b/CB/0123456789ab" in post["summary"]
    assert env.depicts(page.pageid) == []
