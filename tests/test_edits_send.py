"""Sending depicts edits to the stand-in over real HTTP: exact POST parameters, the entity that
results, and every failure the issue lists (maxlag, badtoken, expired token, throttling, a
deleted file, an edit conflict, permissions)."""

from __future__ import annotations

import json
import threading
import time

from sqlalchemy import select, update

from likeness.db import edits as edit_rows
from likeness.db import users as users_db
from likeness.db.schema import edits, faces, projects
from likeness.edits import plan
from likeness.edits.sender import Sender
from likeness.tokens import cipher_for
from likeness.useragent import user_agent
from standin.wikibase import compact_statement
from tests import factories
from tests.fixtures.edits import TARGET_QID, decoded_data, statement_region


def _queue(env, batch="abcdef012345"):
    with env.engine.begin() as conn:
        return plan.queue_project(conn, env.project_id, env.user_id, batch)[1]


def _send_all(env, limit=20):
    sender = Sender(env.engine, env.cfg, "test-worker")
    states = []
    for _ in range(limit):
        with env.engine.begin() as conn:
            edit = edit_rows.claim_next(conn, "test-worker", 60)
        if edit is None:
            break
        states.append(sender.send(edit))
    return states


def _row(env, page_id):
    with env.engine.connect() as conn:
        return edit_rows.for_pair(conn, page_id, TARGET_QID)


def _make_ready(env):
    """Skip the wait a postponed edit asked for (the clock, not the code, is what we skip)."""
    with env.engine.begin() as conn:
        conn.execute(update(edits).where(edits.c.state == "pending").values(next_try_at=None))
        conn.execute(update(edits).where(edits.c.state != "pending").values(next_try_at=None))


def test_new_statement_with_region_exact_parameters_and_entity(edits_env):
    env = edits_env
    page = env.file("Bill Gates 3.jpg")          # has structured data, no depicts
    before = env.entity(page.pageid)
    # The only face, 13 % of the image: the photo's main subject, so the rank is "preferred".
    env.confirm(page.title, box=(0.25, 0.1, 0.3333, 0.4))
    start = env.seq()
    assert _queue(env).queued == 1
    assert _send_all(env) == ["done"]

    posts = env.posts(start)
    assert len(posts) == 1
    post = posts[0]
    expected_summary = (
        f"Likeness: depicts [[d:{TARGET_QID}|Bill Gates]] with face region "
        f"([[toolforge:likeness/projects/{env.project_id}|project {env.project_id}]]) "
        "([[:toolforge:editgroups-commons/b/CB/abcdef012345|details]])")
    assert {k: v for k, v in post.items() if k not in ("token", "data")} == {
        "action": "wbeditentity", "id": f"M{page.pageid}", "summary": expected_summary,
        "baserevid": str(before["lastrevid"]), "maxlag": "5", "assert": "user",
        "format": "json", "formatversion": "2"}
    assert post["token"] == env.standin.csrf_token("Likeness Tester")
    assert decoded_data(post) == {"claims": [{
        "mainsnak": {"snaktype": "value", "property": "P180",
                     "datavalue": {"type": "wikibase-entityid",
                                   "value": {"entity-type": "item", "numeric-id": 99000105,
                                             "id": TARGET_QID}}},
        "type": "statement", "rank": "preferred",
        "qualifiers": {"P2677": [{"snaktype": "value", "property": "P2677",
                                  "datavalue": {"type": "string",
                                                "value": "pct:25,10,33.3,40"}}]},
        "qualifiers-order": ["P2677"]}]}
    write = [r for r in env.requests(start) if r["method"] == "POST"][0]
    assert write["user_agent"] == user_agent(env.cfg)
    assert write["user"] == "Likeness Tester"

    after = env.entity(page.pageid)
    depicts = after["statements"]["P180"]
    assert len(depicts) == 1 and statement_region(depicts[0]) == "pct:25,10,33.3,40"
    assert after["statements"]["P6216"] == before["statements"]["P6216"]   # untouched
    row = _row(env, page.pageid)
    assert (row.state, row.action, row.created_statement) == ("done", "add", True)
    assert row.revision_id == after["lastrevid"] and row.statement_id == depicts[0]["id"]
    assert json.loads(row.written_json)["qualifiers"] == {"P2677": ['"pct:25,10,33.3,40"']}
    assert env.standin.world.edits[-1]["summary"] == expected_summary


def test_file_without_structured_data_gets_its_first_statement(edits_env):
    env = edits_env
    page = env.file("Bill Gates 4.jpg")
    assert "missing" in env.entity(page.pageid)
    env.confirm(page.title)
    start = env.seq()
    _queue(env)
    assert _send_all(env) == ["done"]
    (post,) = env.posts(start)
    assert post["action"] == "wbeditentity" and "baserevid" not in post
    depicts = env.depicts(page.pageid)
    assert [(s["mainsnak"]["datavalue"]["value"]["id"], statement_region(s)) for s in depicts] \
        == [(TARGET_QID, "pct:25,10,30,40")]


def test_existing_statement_with_region_is_left_alone(edits_env):
    env = edits_env
    page = env.file("Bill Gates 2.jpg")
    before = env.entity(page.pageid)
    env.confirm(page.title)
    start = env.seq()
    _queue(env)
    assert _send_all(env) == ["skipped"]
    assert env.posts(start) == []
    assert env.entity(page.pageid) == before
    row = _row(env, page.pageid)
    assert row.error_code == "already_depicted" and not row.created_statement
    assert row.statement_id == before["statements"]["P180"][0]["id"]


def test_existing_statement_without_region_not_qualified_unless_enabled(edits_env):
    env = edits_env
    page = env.file("Bill Gates 1.jpg")
    before = env.entity(page.pageid)
    env.confirm(page.title)
    start = env.seq()
    _queue(env)
    assert _send_all(env) == ["skipped"]
    assert env.posts(start) == [] and env.entity(page.pageid) == before


def test_existing_statement_without_region_gets_the_qualifier_when_enabled(edits_env):
    env = edits_env
    with env.engine.begin() as conn:
        conn.execute(update(projects).where(projects.c.id == env.project_id)
                     .values(add_region_to_existing=True))
    page = env.file("Bill Gates 1.jpg")
    before = env.entity(page.pageid)
    guid = before["statements"]["P180"][0]["id"]
    env.confirm(page.title, box=(0.5, 0.5, 0.25, 0.125))
    start = env.seq()
    _queue(env)
    assert _send_all(env) == ["done"]
    (post,) = env.posts(start)
    assert {k: v for k, v in post.items() if k not in ("token", "summary")} == {
        "action": "wbsetqualifier", "claim": guid, "property": "P2677", "snaktype": "value",
        "value": '"pct:50,50,25,12.5"', "baserevid": str(before["lastrevid"]), "maxlag": "5",
        "assert": "user", "format": "json", "formatversion": "2"}
    assert post["summary"].startswith("Likeness: face region for depicts [[d:Q99000105|")
    after = env.depicts(page.pageid)
    assert len(after) == 1 and after[0]["id"] == guid
    assert statement_region(after[0]) == "pct:50,50,25,12.5"
    # The face alone would make a new statement "preferred"; this one is not ours: its rank
    # stays what its author chose.
    assert after[0]["rank"] == before["statements"]["P180"][0]["rank"] == "normal"
    row = _row(env, page.pageid)
    assert (row.state, row.action, row.created_statement) == ("done", "qualify", False)


def test_maxlag_postpones_by_retry_after_without_sleeping(edits_env):
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    env.confirm(page.title)
    _queue(env)
    env.standin.fault("commons.api", "maxlag", times=1, action="wbeditentity", lag=9)
    started = time.monotonic()
    assert _send_all(env) == ["postponed"]
    assert time.monotonic() - started < 3      # the worker loop keeps beating
    row = _row(env, page.pageid)
    assert (row.state, row.error_code) == ("pending", "maxlag")
    wait = (row.next_try_at - row.updated_at).total_seconds()
    assert 4.5 <= wait <= 5.5                  # Retry-After: 5
    assert _send_all(env) == []                # not before Retry-After
    _make_ready(env)
    assert _send_all(env) == ["done"]
    assert len(env.depicts(page.pageid)) == 1


def test_throttled_save_postpones(edits_env):
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    env.confirm(page.title)
    _queue(env)
    env.standin.fault("commons.api", "error", code="failed-save", action="wbeditentity")
    assert _send_all(env) == ["postponed"]
    row = _row(env, page.pageid)
    assert row.state == "pending" and row.error_code == "failed-save" and row.retryable
    assert (row.next_try_at - row.updated_at).total_seconds() >= 59
    _make_ready(env)
    assert _send_all(env) == ["done"] and len(env.depicts(page.pageid)) == 1


def test_badtoken_fetches_a_new_token_once_then_succeeds(edits_env):
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    env.confirm(page.title)
    _queue(env)
    start = env.seq()
    env.standin.fault("commons.api", "error", code="badtoken", action="wbeditentity")
    assert _send_all(env) == ["done"]
    reqs = env.requests(start)
    token_gets = [r for r in reqs if r["params"].get("meta") == "tokens"]
    assert len(token_gets) == 2 and len(env.posts(start)) == 2
    assert len(env.depicts(page.pageid)) == 1


def test_badtoken_forever_fails_after_a_bounded_number_of_tries(edits_env):
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    env.confirm(page.title)
    _queue(env)
    start = env.seq()
    env.standin.fault("commons.api", "error", code="badtoken", times=None,
                      action="wbeditentity")
    assert _send_all(env) == ["failed"]
    assert len(env.posts(start)) == env.cfg.edits.max_badtoken_retries + 1
    row = _row(env, page.pageid)
    assert (row.error_code, row.retryable) == ("badtoken", True)
    assert env.depicts(page.pageid) == []


def test_expired_access_token_is_refreshed_and_the_rotation_stored(edits_env):
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    env.confirm(page.title)
    _queue(env)
    with env.engine.connect() as conn:
        old = users_db.load_tokens(conn, env.user_id, cipher_for(env.cfg))
    env.standin.expire_tokens("Likeness Tester")      # the DB still thinks it is valid
    start = env.seq()
    assert _send_all(env) == ["done"]
    refreshes = [r for r in env.requests(start) if r["route"] == "meta.access_token"]
    assert [r["params"]["grant_type"] for r in refreshes] == ["refresh_token"]
    with env.engine.connect() as conn:
        new = users_db.load_tokens(conn, env.user_id, cipher_for(env.cfg))
    assert new.access_token != old.access_token and new.refresh_token != old.refresh_token
    assert len(env.depicts(page.pageid)) == 1


def test_revoked_login_fails_the_senders_queue_with_a_clear_message(edits_env):
    env = edits_env
    first, second = env.file("Bill Gates 5.jpg"), env.file("Bill Gates 12.jpg")
    env.confirm(first.title)
    env.confirm(second.title)
    _queue(env)
    env.standin.world.oauth.revoke_user("Likeness Tester")
    start = env.seq()
    assert _send_all(env) == ["failed"]          # the second one is failed with it, unsent
    for page in (first, second):
        row = _row(env, page.pageid)
        assert row.state == "failed" and row.error_code == "login_required"
        assert row.retryable is False and "log in again" in row.error_message
        assert env.depicts(page.pageid) == []
    refreshes = [r for r in env.requests(start) if r["route"] == "meta.access_token"]
    assert len(refreshes) == 1 and env.posts(start) == []


def test_deleted_file_fails_and_does_not_block_the_next(edits_env):
    env = edits_env
    gone = env.file("Bill Gates 7.jpg")
    ok = env.file("Bill Gates 9.jpg")
    env.confirm(gone.title)
    env.confirm(ok.title)
    with env.standin.world.lock:   # deleted on Commons after we found it
        del env.standin.world.mediainfo[gone.pageid]
        del env.standin.world.files[gone.pageid]
    _queue(env)
    assert sorted(_send_all(env)) == ["done", "failed"]
    row = _row(env, gone.pageid)
    assert (row.state, row.error_code, row.retryable) == ("failed", "no-such-entity", False)
    assert _row(env, ok.pageid).state == "done" and len(env.depicts(ok.pageid)) == 1


def test_edit_conflict_rereads_and_retries_once(edits_env):
    env = edits_env
    page = env.file("Bill Gates 8.jpg")
    env.confirm(page.title)
    _queue(env)
    start = env.seq()
    env.standin.fault("commons.api", "error", code="editconflict", action="wbeditentity")
    assert _send_all(env) == ["done"]
    reads = [r for r in env.requests(start) if r["params"].get("action") == "wbgetentities"]
    assert len(reads) == 2 and len(env.posts(start)) == 2
    assert len(env.depicts(page.pageid)) == 1


def test_real_edit_conflict_between_read_and_write(edits_env):
    """Strict conflicts: another editor changes the file between our read and our write; the
    stale baserevid gets editconflict, we re-read and send once more on the new revision."""
    env = edits_env
    env.standin.configure(conflict_policy="strict")
    page = env.file("Bill Gates 8.jpg")
    env.confirm(page.title)
    _queue(env)
    start = env.seq()
    # Hold the CSRF token request so the other edit lands after our read.
    env.standin.fault("commons.api", "delay", seconds=1.0, match={"meta": "tokens"})
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.extend(_send_all(env)))
    thread.start()
    deadline = time.monotonic() + 5
    while not any(r["params"].get("action") == "wbgetentities" for r in env.requests(start)):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with env.standin.world.lock:
        ent = env.standin.world.mediainfo[page.pageid]
        other = compact_statement(ent.id, {"property": "P180", "value": "Q144"}, "other")
        ent.add(other)
        env.standin.world.touch(ent, {other["id"]})
    thread.join(10)
    assert result == ["done"]
    posts = env.posts(start)
    assert len(posts) == 2 and posts[0]["baserevid"] != posts[1]["baserevid"]
    assert [r["error"] for r in env.requests(start) if r["method"] == "POST"] == [
        "editconflict", None]
    values = [s["mainsnak"]["datavalue"]["value"]["id"] for s in env.depicts(page.pageid)]
    assert sorted(values) == sorted(["Q144", TARGET_QID])


def test_blocked_user_permission_denied_not_retryable(edits_env):
    env = edits_env
    with env.engine.begin() as conn:
        blocked = users_db.upsert(conn, 81003, "Blocked Tester")
        conn.execute(update(projects).where(projects.c.id == env.project_id)
                     .values(owner_id=blocked.id))
    env.store_tokens("Blocked Tester", blocked.id)
    pages = [env.file("Bill Gates 5.jpg"), env.file("Bill Gates 12.jpg")]
    for page in pages:
        env.confirm(page.title)
    start = env.seq()
    with env.engine.begin() as conn:
        plan.queue_project(conn, env.project_id, blocked.id)
    assert _send_all(env) == ["failed"]
    assert len(env.posts(start)) == 1            # the block answer fails the whole queue
    for page in pages:
        row = _row(env, page.pageid)
        assert (row.state, row.error_code, row.retryable) == (
            "failed", "permissiondenied", False)


def test_two_projects_wanting_one_pair_make_one_edit(edits_env):
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    with env.engine.begin() as conn:
        other = factories.project(conn, env.user_id, qid=TARGET_QID, category="Other",
                                  status="paused")
    env.confirm(page.title)
    env.confirm(page.title, project_id=other)
    start = env.seq()
    with env.engine.begin() as conn:
        plan.queue_project(conn, env.project_id, env.user_id)
        _, second = plan.queue_project(conn, other, env.user_id)
    assert (second.queued, second.existing) == (0, 1)
    assert _send_all(env) == ["done"]
    assert len(env.posts(start)) == 1 and len(env.depicts(page.pageid)) == 1
    with env.engine.connect() as conn:
        assert conn.execute(select(edits.c.project_id)).scalars().all() == [env.project_id]


def test_face_rejected_before_sending_is_never_written(edits_env):
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    face = env.confirm(page.title)
    _queue(env)
    with env.engine.begin() as conn:
        conn.execute(update(faces).where(faces.c.id == face).values(label="no"))
    start = env.seq()
    assert _send_all(env) == ["cancelled"]
    assert env.posts(start) == [] and env.depicts(page.pageid) == []


def test_lost_answer_to_an_applied_post_is_reconciled_not_resent(edits_env):
    """The stand-in applies the write but cuts the answer: no second POST, one statement."""
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    env.confirm(page.title)
    _queue(env)
    env.standin.fault("commons.api", "truncate", action="wbeditentity", keep=0.3)
    start = env.seq()
    assert _send_all(env) == ["postponed"]
    row = _row(env, page.pageid)
    assert (row.state, row.error_code) == ("pending", "unknown_outcome")
    assert len(env.depicts(page.pageid)) == 1          # it did land
    _make_ready(env)
    assert _send_all(env) == ["done"]
    assert len(env.posts(start)) == 1 and len(env.depicts(page.pageid)) == 1
    row = _row(env, page.pageid)
    assert row.statement_id == env.depicts(page.pageid)[0]["id"] and row.created_statement


def test_dropped_post_that_never_landed_is_sent_again_after_a_read(edits_env):
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    env.confirm(page.title)
    _queue(env)
    env.standin.fault("commons.api", "drop", action="wbeditentity")
    start = env.seq()
    assert _send_all(env) == ["postponed"]
    assert env.depicts(page.pageid) == []
    _make_ready(env)
    assert _send_all(env) == ["done"]
    assert len(env.posts(start)) == 2 and len(env.depicts(page.pageid)) == 1
    reads = [r for r in env.requests(start) if r["params"].get("action") == "wbgetentities"]
    assert len(reads) == 2


def test_http_429_on_a_post_is_not_retried_at_the_http_layer(edits_env):
    env = edits_env
    page = env.file("Bill Gates 5.jpg")
    env.confirm(page.title)
    _queue(env)
    env.standin.fault("commons.api", "http", status=429, retry_after=17, action="wbeditentity")
    start = env.seq()
    assert _send_all(env) == ["postponed"]
    assert len(env.posts(start)) == 1
    row = _row(env, page.pageid)
    assert row.error_code == "http-429"
    assert 16.5 <= (row.next_try_at - row.updated_at).total_seconds() <= 17.5
    assert env.depicts(page.pageid) == []
