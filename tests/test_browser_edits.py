"""Sending edits from the page, in Debian's Chromium (Playwright), against the web app on a real
port, a real worker process and the Wikimedia stand-in over real HTTP; then undoing the batch
through its confirmation; and axe-core on every page with no serious or critical violation.
Screenshots go to screenshots/ (ignored by git).

The project's confirmed faces are written straight into the database (this module is about
sending, not detection: tests/test_browser_label.py drives dlib through the worker), on real
stand-in files whose thumbnails the browser loads from the stand-in's upload host.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select, update

from likeness.config import REPO_ROOT, load_config
from likeness.db import members
from likeness.db import users as users_db
from likeness.db.schema import decisions, edits, faces, images, metadata, projects, utcnow
from standin.server import thumb_fields_url
from tests import factories
from tests.fixtures.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    axe_violations,
    browser_skip_reason,
    one_at_a_time,
)
from tests.fixtures.edits import TARGET_LABEL, TARGET_QID

pytestmark = pytest.mark.browser

SHOTS = REPO_ROOT / "screenshots"
OWNER = "Likeness Tester"
OUTSIDER = "Zoë Reviewer"
FILES = ["Bill Gates 3.jpg", "Bill Gates 5.jpg", "Bill Gates 9.jpg", "Bill Gates 12.jpg"]
UNLABELLED = ["Bill Gates 6.jpg", "Bill Gates 7.jpg", "Bill Gates 8.jpg"]
PACE = 1


class Site:
    """The web app on a port, a worker, a browser, and one project with confirmed faces."""

    def __init__(self, base: str, engine: Engine, browser: Any, standin: Any,
                 project_id: int, owner_id: int) -> None:
        self.base, self.engine, self.browser, self.standin = base, engine, browser, standin
        self.project_id, self.owner_id = project_id, owner_id
        self.console: list[str] = []

    def page(self, user: str | None = OWNER, path: str = "/") -> Any:
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on("console", lambda msg: self.console.append(msg.text)
                if msg.type == "error" else None)
        if user is None:
            page.goto(self.base + path)
            return page
        page.goto(f"{self.base}/login?next={path}")
        page.get_by_role("link", name=f"Allow as {user}", exact=True).click()
        page.wait_for_url(re.compile(re.escape(self.base) + ".*"))
        return page

    def url(self, path: str) -> str:
        return self.base + path.format(p=self.project_id)

    def rows(self) -> dict[int, tuple[str, str]]:
        with self.engine.connect() as conn:
            return {r.page_id: (r.action, r.state) for r in conn.execute(
                select(edits.c.page_id, edits.c.action, edits.c.state))}

    def depicts(self, page_id: int) -> list[Any]:
        statements = self.standin.entity(f"M{page_id}").get("statements") or {}
        return statements.get("P180", []) if isinstance(statements, dict) else []


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _seed(engine: Engine, standin: Any) -> tuple[int, int]:
    """The tester's project on Bill Gates: four confirmed faces, three proposals."""
    with engine.begin() as conn:
        owner = users_db.upsert(conn, standin.world.users[OWNER].central_id, OWNER).id
        project = factories.project(
            conn, owner, qid=TARGET_QID, category="Bill Gates", threshold=0.5,
            next_crawl_at=utcnow() + dt.timedelta(days=1), last_crawled_at=utcnow())
        conn.execute(update(projects).where(projects.c.id == project).values(
            label=TARGET_LABEL))
        for n, title in enumerate(FILES + UNLABELLED):
            cat = standin.catalog.file(f"File:{title}")
            width = 330
            height = round(cat.height * width / cat.width)
            image = conn.execute(insert(images).values(
                project_id=project, page_id=cat.pageid, title=cat.title, status="done",
                width=cat.width, height=cat.height, thumb_width=width, thumb_height=height,
                thumb_url=thumb_fields_url(standin, standin.world.files[cat.pageid], width),
            )).inserted_primary_key[0]
            face = factories.face(conn, project, image)
            conn.execute(update(faces).where(faces.c.id == face).values(
                box_left=0.3, box_top=0.15, box_width=0.35, box_height=0.4))
            if title in FILES:
                conn.execute(update(faces).where(faces.c.id == face).values(label="yes"))
                conn.execute(insert(decisions).values(face_id=face, project_id=project,
                                                      user_id=owner, answer="yes"))
            else:
                conn.execute(update(faces).where(faces.c.id == face).values(
                    score=0.6 + n / 50, priority=n))
    return project, owner


@pytest.fixture(scope="module")
def site(db_url: str, session_engine: Engine, standin_server: Any,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from webapp import create_app

    standin_server.reset()
    project_id, owner_id = _seed(session_engine, standin_server)
    data_dir = tmp_path_factory.mktemp("browser-edits")
    overrides = {**standin_server.config_overrides(), "secret_key": "browser-test-secret",
                 "secure_cookies": False, "data_dir": str(data_dir),
                 "database": {"url": db_url},
                 "app": {"admins": [standin_server.world.users[OWNER].central_id]},
                 "edits": {"pace_seconds": PACE}}
    cfg = load_config(path="/nonexistent/config.yaml", environ={}, overrides=overrides)
    server = make_server("127.0.0.1", 0, create_app(cfg), threaded=True)
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    env = {**os.environ, **standin_server.env(), "LIKENESS_CONFIG": "/nonexistent/config.yaml",
           "TOOL_DATABASE__URL": db_url, "TOOL_SECRET_KEY": "browser-test-secret",
           "TOOL_DATA_DIR": str(data_dir), "TOOL_WORKER__POLL_INTERVAL": "0.2",
           "TOOL_EDITS__PACE_SECONDS": str(PACE), "PYTHONPATH": str(REPO_ROOT)}
    worker = subprocess.Popen([sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                         headless=True)
    try:
        yield Site(base, session_engine, browser, standin_server, project_id, owner_id)
    finally:
        browser.close()
        playwright.stop()
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        server.shutdown()
        with session_engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(delete(table))


def _ready(page: Any) -> None:
    page.wait_for_function("() => document.getElementById('edits').dataset.state === 'ready'")


def _group_count(page: Any, group: str) -> int:
    title = page.locator(f"#group-{group}-title")
    if not title.count():
        return 0
    match = re.search(r"\((\d+)\)", title.text_content() or "")
    return int(match.group(1)) if match else 0


def test_send_from_the_page_and_watch_the_progress(site: Site) -> None:
    page = site.page(OWNER, f"/projects/{site.project_id}/edits")
    page.wait_for_url(site.url("/projects/{p}/edits"))
    _ready(page)
    # What will happen: four statements, the person, regions as boxes on thumbnails.
    assert "4 new statements" in page.text_content("#send-summary")
    assert TARGET_LABEL in page.text_content("#send-summary")
    assert page.locator("#preview-grid svg.thumb rect.region").count() == 4
    assert page.locator("#preview-grid svg.thumb image").count() == 4
    button = page.locator("#send-button")
    assert button.text_content() == "Send 4 edits with my account"
    assert "seconds" in page.text_content("#send-estimate")
    height = button.bounding_box()["height"]
    assert height >= 40, f"the Send button is {height} px tall"
    shot(page, "20-edits-before-send")

    page.evaluate("window.__noReload = 'still here'")
    button.click()
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + 60
    while _group_count(page, "written") < 4:
        assert time.monotonic() < deadline, f"not all written in time: {site.rows()}"
        if page.locator("#progress-box").is_visible():
            seen.append(tuple(page.evaluate(
                "() => { const p = document.getElementById('send-progress');"
                " return [p.value, p.max]; }")))
            if len(seen) == 2:
                shot(page, "21-edits-sending")
        time.sleep(0.25)
    # The page updated itself while sending: no reload, and progress was shown part-way.
    assert page.evaluate("window.__noReload") == "still here"
    assert any(0 < value < total for value, total in seen), seen
    page.wait_for_function("() => !document.getElementById('edits').dataset.sending")
    assert page.locator("#progress-box").is_hidden()
    shot(page, "22-edits-after-send")
    items = page.locator("#group-written li.edit-item")
    assert items.count() == 4
    for i in range(4):
        links = items.nth(i).locator("a")
        hrefs = [links.nth(k).get_attribute("href") for k in range(links.count())]
        assert any("/File:" in h for h in hrefs) and any("Special:Diff/" in h for h in hrefs)
    assert set(site.rows().values()) == {("add", "done")}
    for title in FILES:
        (statement,) = site.depicts(site.standin.catalog.file(f"File:{title}").pageid)
        assert statement["qualifiers"]["P2677"][0]["datavalue"]["value"] == "pct:30,15,35,40"
    assert "Nothing new to send" in page.text_content("#send-nothing")
    assert page.locator("#send-action").is_hidden()
    assert page.text_content("#batch-list .batch-counts").startswith("4 written ·")
    page.context.close()


def test_undo_the_batch_through_its_confirmation(site: Site) -> None:
    page = site.page(OWNER, f"/projects/{site.project_id}/edits")
    _ready(page)
    batch = page.locator("#batch-list li.batch").first
    batch.get_by_role("button", name="Undo this batch…").click()
    dialog = page.locator("#undo-dialog")
    dialog.wait_for(state="visible")
    # It says exactly what will be removed: four statements, on these four files.
    assert "removes 4 'depicts' statements" in dialog.locator("#undo-text").text_content()
    listed = dialog.locator("#undo-files li").all_text_contents()
    assert sorted(t.split(" (")[0] for t in listed) == sorted(t[:-4] + ".jpg" for t in FILES)
    shot(page, "23-undo-confirmation")
    # Keeping them changes nothing.
    dialog.get_by_role("button", name="Keep them").click()
    assert dialog.is_hidden() and set(site.rows().values()) == {("add", "done")}
    batch.get_by_role("button", name="Undo this batch…").click()
    dialog.get_by_role("button", name="Remove 4 statements").click()
    dialog.wait_for(state="hidden")         # closed once the server took the undo
    deadline = time.monotonic() + 60
    while _group_count(page, "removed") < 4:
        assert time.monotonic() < deadline, f"not all removed in time: {site.rows()}"
        time.sleep(0.25)
    shot(page, "24-after-undo")
    assert set(site.rows().values()) == {("remove", "done")}
    for title in FILES:
        assert site.depicts(site.standin.catalog.file(f"File:{title}").pageid) == []
    # Undone edits are not offered again unless a person confirms those faces anew.
    page.reload()
    _ready(page)
    assert page.locator("#send-action").is_hidden()
    assert "4 files whose edit was undone" in page.text_content("#send-covered")
    page.context.close()


def test_classify_links_the_file_page_and_keeps_a_drawn_box(site: Site) -> None:
    page = site.page(OWNER, f"/projects/{site.project_id}/label")
    one_at_a_time(page)
    page.wait_for_function("() => document.getElementById('classify').dataset.face")
    href = page.get_attribute("#file-link", "href")
    assert href.startswith(site.standin.base_url + "/commons/wiki/File:Bill_Gates_"), href
    page.keyboard.press("d")
    frame = page.locator("#face-image").bounding_box()
    page.mouse.move(frame["x"] + frame["width"] * 0.05, frame["y"] + frame["height"] * 0.6)
    page.mouse.down()
    page.mouse.move(frame["x"] + frame["width"] * 0.3, frame["y"] + frame["height"] * 0.9,
                    steps=6)
    page.mouse.up()
    page.get_by_role("button", name="Save: someone else").click()
    saved = page.locator(".saved-box[data-answer=no]")
    saved.wait_for(state="visible")
    assert "someone else" in page.text_content("#status")
    page.wait_for_function("() => document.getElementById('classify').dataset.outbox === '0'")
    with site.engine.connect() as conn:
        answers = conn.execute(select(decisions.c.answer).where(
            decisions.c.via == "box")).scalars().all()
    assert answers == ["no"]
    shot(page, "25-classify-drawn-box")
    page.context.close()


PAGES = ["/", "/projects/new", "/join", "/leaderboard", "/account", "/admin",
         "/projects/{p}", "/projects/{p}/label", "/projects/{p}/review",
         "/projects/{p}/progress", "/projects/{p}/edits", "/projects/{p}/members",
         "/projects/{p}/leaderboard", "/projects/{p}/invites", "/projects/{p}/settings",
         "/no/such/page"]
SETTLED = {
    "/projects/{p}/label": "() => ['face', 'grid', 'empty'].includes("
                           "document.getElementById('classify').dataset.state)",
    "/projects/{p}/review": "() => document.getElementById('review').dataset.state === 'ready'",
    "/projects/{p}/edits": "() => document.getElementById('edits').dataset.state === 'ready'",
}


def test_axe_finds_no_serious_violation_on_any_page(site: Site) -> None:
    with site.engine.begin() as conn:
        outsider = users_db.upsert(conn, site.standin.world.users[OUTSIDER].central_id,
                                   OUTSIDER).id
        other = factories.project(conn, outsider, qid="Q99000120", category="Joe Biden",
                                  next_crawl_at=utcnow() + dt.timedelta(days=1),
                                  last_crawled_at=utcnow())
        assert members.role_of(conn, other, site.owner_id) is None
    problems: dict[str, list[str]] = {}
    anonymous = site.page(None)
    problems["/ (anonymous)"] = axe_violations(anonymous)
    anonymous.context.close()
    page = site.page(OWNER, "/")
    for path in PAGES + [f"/projects/{other}"]:
        response = page.goto(site.url(path))
        assert response is not None
        if path in SETTLED:
            page.wait_for_function(SETTLED[path])
        found = axe_violations(page)
        if found:
            problems[path] = found
    # The review cards are on screen, so their accessible names were checked too.
    page.goto(site.url("/projects/{p}/review"))
    page.wait_for_function(SETTLED["/projects/{p}/review"])
    assert page.locator("button.review-face").count() >= 1
    assert not axe_violations(page)
    # The check is live: a control whose name hides its visible text is reported.
    page.evaluate("() => { const b = document.createElement('button');"
                  " b.textContent = 'score 0.93'; b.setAttribute('aria-label', 'Reject face 1');"
                  " document.getElementById('main').append(b); }")
    assert any(v.startswith("label-content-name-mismatch") for v in axe_violations(page))
    page.context.close()
    report = "\n".join(f"{path}:\n  " + "\n  ".join(v) for path, v in problems.items() if v)
    assert not report, "axe-core found serious or critical violations:\n" + report
    assert not [m for m in site.console if "Content Security Policy" in m]
