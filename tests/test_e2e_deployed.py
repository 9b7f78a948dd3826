"""End to end, as deployed: gunicorn and two workers started exactly as the Procfile says, on
MariaDB, against the Wikimedia stand-in. A project goes from creation through labelling (over
HTTP) and review to written edits; one worker is SIGKILLed on the way; everything stops with
SIGTERM; every expected statement exists exactly once and no decision is lost.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bench.deployed import Client, Tool, start_tool
from likeness.db.schema import decisions, users
from tests.fixtures.db import mariadb_server_url
from tests.waiting import wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not mariadb_server_url(),
                       reason="the deployed setup runs on MariaDB (set DATABASE_URL)"),
]

PERSON = "george_w_bush"  # one face per photo in the stand-in's catalog
USER = "Likeness Tester"


@pytest.fixture
def deployed(db_url, standin, tmp_path) -> Iterator[Tool]:
    """Web (gunicorn) and two workers as the Procfile starts them."""
    tool = start_tool({**standin.env(), "TOOL_DATABASE__URL": db_url,
                       "TOOL_WORKER__LEASE_SECONDS": "8",
                       "TOOL_WORKER__HEALTH_FILE": str(tmp_path / "health")},
                      tmp_path, workers=2)
    try:
        yield tool
    finally:
        for proc in tool.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_project_from_creation_to_written_edits_as_deployed(deployed, standin,
                                                            standin_catalog, engine):
    person = standin_catalog.person(PERSON)
    files = standin_catalog.files_in(person.category)
    standin.set_next_user(USER)
    ui = Client(deployed.base)
    assert ui.login() == USER

    created = ui.post("/api/projects", {"item": person.qid, "category": person.category,
                                       "depth": 0})
    assert created.status_code == 201, created.text
    project_id = created.json()["project"]["id"]

    def progress() -> dict:
        return ui.get(f"/api/projects/{project_id}/progress")["progress"]

    wait_for(lambda: progress()["images_processed"] >= 5, 120, "the first images")
    deployed.procs["worker1"].kill()  # SIGKILL mid-batch: its leases expire, worker2 goes on
    wait_for(lambda: progress()["images_total"] == len(files)
             and progress()["images_processed"] == len(files), 240, "every image processed")
    assert progress()["faces_total"] >= len(files) - 1

    answered = 0
    for _ in range(6):  # label a first batch by keyboard-equivalent API calls
        batch = ui.post_ok(f"/api/projects/{project_id}/queue/next", {"k": 5})["faces"]
        for face in batch:
            done = ui.post_ok(f"/api/projects/{project_id}/answers",
                              {"face_id": face["id"], "answer": "yes",
                               "token": uuid.uuid4().hex})
            assert done["label"] == "yes"
            answered += 1
    assert answered >= 20

    def proposals() -> list:
        return ui.get(f"/api/projects/{project_id}/review?source=model")["faces"]

    wait_for(lambda: proposals(), 120, "model proposals")
    approved = 0
    for _ in range(10):
        page = proposals()
        if not page:
            break
        result = ui.post(f"/api/projects/{project_id}/review",
                         {"approve": [f["id"] for f in page], "reject": [],
                          "token": uuid.uuid4().hex})
        assert result.status_code == 200, result.text
        approved += len(page)
    assert approved > 0

    sent = ui.post(f"/api/projects/{project_id}/edits/send", {})
    assert sent.status_code == 202, sent.text[:300]
    assert sent.json()["queued"] >= answered

    def edits_settled() -> dict | None:
        counts = ui.get(f"/api/projects/{project_id}/edits")["counts"]
        return counts if counts["pending"] == counts["sending"] == 0 else None

    counts = wait_for(edits_settled, 180, "the edits to be sent")
    assert counts["failed"] == 0, counts
    assert counts["done"] + counts["skipped"] >= answered

    for name in ("web", "worker2"):
        deployed.procs[name].send_signal(signal.SIGTERM)
    for name in ("web", "worker2"):
        assert deployed.procs[name].wait(timeout=60) == 0, name

    labelled = {f["page_id"] for f in ui_pages_with_yes(engine, project_id)}
    assert len(labelled) >= answered
    for f in files:
        entity = standin.entity(f"M{f.pageid}")
        statements = (entity.get("statements") or {}) if "missing" not in entity else {}
        depicts = [s for s in statements.get("P180", []) if
                   s["mainsnak"].get("datavalue", {}).get("value", {}).get("id") == person.qid]
        if f.pageid in labelled:
            assert len(depicts) == 1, (f.title, depicts)
        else:
            assert len(depicts) <= 1, (f.title, depicts)
    with engine.connect() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.username == USER)).scalar_one()
        recorded = conn.execute(select(func.count()).select_from(decisions).where(
            decisions.c.user_id == user_id, decisions.c.answer == "yes")).scalar_one()
    assert recorded == answered  # every answer kept, none twice


def ui_pages_with_yes(engine, project_id: int) -> list[dict]:
    from likeness.db.schema import faces, images

    with engine.connect() as conn:
        rows = conn.execute(select(images.c.page_id).join(faces, faces.c.image_id == images.c.id)
                            .where(faces.c.project_id == project_id, faces.c.label == "yes"))
        return [{"page_id": row.page_id} for row in rows]
