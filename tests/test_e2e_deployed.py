"""End to end, as deployed: gunicorn and two workers started exactly as the Procfile says, on
MariaDB, against the Wikimedia stand-in. A project goes from creation through labelling (over
HTTP) and review to written edits; one worker is SIGKILLed on the way; everything stops with
SIGTERM; every expected statement exists exactly once and no decision is lost.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from likeness.config import REPO_ROOT
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


def procfile() -> dict[str, str]:
    lines = (REPO_ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def deployed(db_url, standin, tmp_path) -> Iterator[dict]:
    """Web (gunicorn) and two workers as the Procfile starts them."""
    port = free_port()
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ, **standin.env(), "PATH": venv_bin + os.pathsep + os.environ["PATH"],
           "TOOL_DATABASE__URL": db_url, "TOOL_SECRET_KEY": uuid.uuid4().hex,
           "TOOL_SECURE_COOKIES": "false", "TOOL_DATA_DIR": str(tmp_path),
           "TOOL_WORKER__POLL_INTERVAL": "0.3", "TOOL_WORKER__LEASE_SECONDS": "8",
           "TOOL_WORKER__HEALTH_FILE": str(tmp_path / "health"),
           "TOOL_EDITS__PACE_SECONDS": "0", "LIKENESS_CONFIG": str(tmp_path / "none.yaml"),
           "PYTHONUNBUFFERED": "1"}
    commands = procfile()
    web_cmd = commands["web"].replace("0.0.0.0:8000", f"127.0.0.1:{port}")
    logs = tmp_path / "logs"
    logs.mkdir()

    def start(name: str, command: str) -> subprocess.Popen:
        out = (logs / f"{name}.log").open("wb")
        return subprocess.Popen(shlex.split(command), cwd=REPO_ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)

    subprocess.run(shlex.split(commands["migrate"]), cwd=REPO_ROOT, env=env, check=True,
                   capture_output=True)
    procs = {"web": start("web", web_cmd), "worker1": start("worker1", commands["worker"]),
             "worker2": start("worker2", commands["worker"])}
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(base), 60, "gunicorn")
        yield {"base": base, "procs": procs, "logs": logs}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _up(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


class Browser:
    """A requests session that behaves like the UI: CSRF header and same Origin on writes."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.csrf = ""

    def login(self) -> None:
        page = self.http.get(self.base + "/login/wikimedia", timeout=30)  # follows the dance
        assert page.status_code == 200, page.text[:500]
        self.refresh_csrf()
        me = self.http.get(self.base + "/api/me", timeout=10).json()
        assert me["user"]["username"] == USER

    def refresh_csrf(self) -> None:
        page = self.http.get(self.base + "/", timeout=10).text
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def post(self, path: str, **kwargs) -> requests.Response:
        headers = {"X-CSRF-Token": self.csrf, "Origin": self.base}
        return self.http.post(self.base + path, headers=headers, timeout=30, **kwargs)

    def get(self, path: str) -> dict:
        response = self.http.get(self.base + path, timeout=30)
        assert response.status_code == 200, (path, response.text[:300])
        return response.json()


def test_project_from_creation_to_written_edits_as_deployed(deployed, standin,
                                                            standin_catalog, engine):
    person = standin_catalog.person(PERSON)
    files = standin_catalog.files_in(person.category)
    standin.set_next_user(USER)
    ui = Browser(deployed["base"])
    ui.login()

    created = ui.post("/api/projects", json={"item": person.qid, "category": person.category,
                                             "depth": 0})
    assert created.status_code == 201, created.text
    project_id = created.json()["project"]["id"]

    def progress() -> dict:
        return ui.get(f"/api/projects/{project_id}/progress")["progress"]

    wait_for(lambda: progress()["images_processed"] >= 5, 120, "the first images")
    deployed["procs"]["worker1"].kill()  # SIGKILL mid-batch: its leases expire, worker2 goes on
    wait_for(lambda: progress()["images_total"] == len(files)
             and progress()["images_processed"] == len(files), 240, "every image processed")
    assert progress()["faces_total"] >= len(files) - 1

    answered = 0
    for _ in range(6):  # label a first batch by keyboard-equivalent API calls
        batch = ui.post(f"/api/projects/{project_id}/queue/next", json={"k": 5}).json()["faces"]
        for face in batch:
            done = ui.post(f"/api/projects/{project_id}/answers",
                           json={"face_id": face["id"], "answer": "yes",
                                 "token": uuid.uuid4().hex}).json()
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
                         json={"approve": [f["id"] for f in page], "reject": [],
                               "token": uuid.uuid4().hex})
        assert result.status_code == 200, result.text
        approved += len(page)
    assert approved > 0

    sent = ui.post(f"/api/projects/{project_id}/edits/send", json={})
    assert sent.status_code == 202, sent.text[:300]
    assert sent.json()["queued"] >= answered

    def edits_settled() -> dict | None:
        counts = ui.get(f"/api/projects/{project_id}/edits")["counts"]
        return counts if counts["pending"] == counts["sending"] == 0 else None

    counts = wait_for(edits_settled, 180, "the edits to be sent")
    assert counts["failed"] == 0, counts
    assert counts["done"] + counts["skipped"] >= answered

    for name in ("web", "worker2"):
        deployed["procs"][name].send_signal(signal.SIGTERM)
    for name in ("web", "worker2"):
        assert deployed["procs"][name].wait(timeout=60) == 0, name

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
