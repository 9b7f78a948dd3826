"""Labelling in a real browser: Debian's Chromium driven by Playwright, against the web app on a
real HTTP port, a real worker process (crawl, dlib detection, encoding of drawn boxes) and the
Wikimedia stand-in. Screenshots of every page go to screenshots/ (ignored by git).

Scenario (issue 6): log in through the stand-in, create a project, wait for faces, label 20
faces with the keyboard only, undo three, draw a missed face, approve a review page, check every
decision in the database; and two browser contexts labelling at once never get the same face.
Those ask one face at a time (the page's "Show pages of likely faces" box unticked). Issue 13:
a grid page of likely faces, one clicked out, Enter confirms, Backspace undoes the page; and
the stop signal with "Keep asking anyway".
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
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, delete, func, select, update

from likeness.config import REPO_ROOT, load_config
from likeness.db import members
from likeness.db.schema import (
    decisions,
    detections,
    faces,
    images,
    jobs,
    metadata,
    model_runs,
    project_members,
    projects,
    users,
    utcnow,
)
from likeness.model import run as model_run
from tests.fixtures.browser import axe_violations, browser_skip_reason, one_at_a_time
from webapp import create_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = REPO_ROOT / "screenshots"
PERSON = "George W. Bush"     # 40 files with one face each in the stand-in's catalog
OWNER = "Likeness Tester"
SECOND = "Zoë Reviewer"
WAIT_FACES_S = 150


def _skip_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (requirements-dev.txt)"
    return None


# --- the live system -----------------------------------------------------------------------

class Live:
    """Web app on a port, a worker process, a browser, one project created through the UI."""

    def __init__(self, base: str, engine: Engine, browser: Any, standin: Any) -> None:
        self.base = base
        self.engine = engine
        self.browser = browser
        self.standin = standin
        self.project_id: int | None = None
        self.csp_errors: list[str] = []

    def new_page(self, viewport: dict | None = None) -> Any:
        context = self.browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on("console", lambda msg: self.csp_errors.append(msg.text)
                if "Content Security Policy" in msg.text else None)
        return page

    def login(self, page: Any, user: str, next_url: str = "/") -> None:
        page.goto(f"{self.base}/login?next={next_url}")
        # The stand-in's approval page: choose the test user.
        page.get_by_role("link", name=f"Allow as {user}").click()
        page.wait_for_url(re.compile(re.escape(self.base) + ".*"))

    def user_id(self, name: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(users.c.id).where(users.c.username == name)).scalar_one()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def live(db_url: str, session_engine: Engine, standin_server: Any,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    standin_server.reset()
    data_dir = tmp_path_factory.mktemp("browser-data")
    overrides = {**standin_server.config_overrides(), "secret_key": "browser-test-secret",
                 "secure_cookies": False, "data_dir": str(data_dir),
                 "database": {"url": db_url}}
    cfg = load_config(path="/nonexistent/config.yaml", environ={}, overrides=overrides)
    server = make_server("127.0.0.1", 0, create_app(cfg), threaded=True)
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"

    env = {**os.environ, **standin_server.env(), "LIKENESS_CONFIG": "/nonexistent/config.yaml",
           "TOOL_DATABASE__URL": db_url, "TOOL_SECRET_KEY": "browser-test-secret",
           "TOOL_DATA_DIR": str(data_dir), "TOOL_WORKER__POLL_INTERVAL": "0.2",
           "TOOL_WORKER__RETRY_BASE_SECONDS": "0", "PYTHONPATH": str(REPO_ROOT)}
    worker = subprocess.Popen([sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                         headless=True)
    try:
        live = Live(base, session_engine, browser, standin_server)
        _create_project(live)
        yield live
    finally:
        browser.close()
        playwright.stop()
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        server.shutdown()
        # Leave the shared test database empty, as the `engine` fixture does.
        with session_engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(delete(table))


def _create_project(live: Live) -> None:
    page = live.new_page()
    live.login(page, OWNER, "/projects/new")
    page.wait_for_url(f"{live.base}/projects/new")
    qid = live.standin.catalog.person(PERSON).qid
    page.get_by_label("Person (Wikidata item)").fill(qid)
    page.get_by_label("Commons category").fill(PERSON)
    page.get_by_label("Subcategory depth").fill("0")
    page.get_by_role("button", name="Create project").click()
    try:
        page.wait_for_url(re.compile(r".*/projects/\d+$"))
    except Exception:
        shot(page, "00-create-failed")
        raise
    live.project_id = int(page.url.rsplit("/", 1)[1])
    shot(page, "01-project")
    # Wait for the worker to crawl, detect and encode: the progress page fills in.
    page.goto(f"{live.base}/projects/{live.project_id}/progress")
    deadline = time.monotonic() + WAIT_FACES_S
    while _ready_faces(live) < 35:
        assert time.monotonic() < deadline, "the worker found no faces in time"
        time.sleep(1)
    page.wait_for_function(
        "() => document.getElementById('bar-processed-count').textContent.startsWith('40 /')",
        timeout=15_000)
    shot(page, "02-progress")
    page.context.close()


def _ready_faces(live: Live) -> int:
    with live.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(faces).where(
            faces.c.project_id == live.project_id, faces.c.detection_id.is_not(None),
            faces.c.state == "active")).scalar_one()


A11Y_PROBLEMS = """() => {
  const problems = [];
  const name = (el) => (el.getAttribute('aria-label') || el.textContent || '').trim();
  document.querySelectorAll('button, a[href]').forEach((el) => {
    if (!name(el)) problems.push('unnamed ' + el.outerHTML.slice(0, 80));
  });
  document.querySelectorAll('img').forEach((el) => {
    if (!el.hasAttribute('alt')) problems.push('img without alt ' + el.src);
  });
  document.querySelectorAll('select, input:not([type=hidden])').forEach((el) => {
    const labelled = el.labels && el.labels.length || el.getAttribute('aria-label');
    if (!labelled) problems.push('unlabelled field ' + (el.id || el.name));
  });
  if (!document.documentElement.lang) problems.push('no lang');
  return problems;
}"""


def _a11y(page: Any) -> None:
    """Names, alt texts and labels present; the answer buttons are reachable with Tab."""
    assert page.evaluate(A11Y_PROBLEMS) == []


def _face(page: Any) -> int:
    value = page.get_attribute("#classify", "data-face")
    return int(value) if value else 0


def _wait_ready(page: Any) -> None:
    """A face is shown and at least one more is prefetched (so the next key needs no network)."""
    page.wait_for_function(
        "() => { const r = document.getElementById('classify');"
        " return r.dataset.face && Number(r.dataset.queued || 0) > 0; }")


def _wait_saved(page: Any) -> None:
    page.wait_for_function("() => document.getElementById('classify').dataset.outbox === '0'")


# --- the scenarios ---------------------------------------------------------------------------

KEYS = ["y", "y", "ArrowLeft", "n", "y", "x", "y", "s", "y", "ArrowRight",
        "y", "y", "ArrowDown", "y", "n", "y", "y", "ArrowLeft", "y", "y"]
ANSWER_OF = {"y": "yes", "ArrowLeft": "yes", "n": "no", "ArrowRight": "no", "s": "skip",
             "ArrowDown": "skip", "x": "not_face"}
LABEL_OF = {"yes": "yes", "no": "no", "not_face": "not_face", "skip": None}


def test_two_labellers_never_see_the_same_face(live: Live) -> None:
    first = live.new_page()
    second = live.new_page()
    live.login(first, OWNER, f"/projects/{live.project_id}/label")
    one_at_a_time(first)
    live.login(second, SECOND, "/")
    second_id = live.user_id(SECOND)
    with live.engine.begin() as conn:
        if members.role_of(conn, live.project_id, second_id) is None:
            members.add(conn, live.project_id, second_id, "labeller")
    second.goto(f"{live.base}/projects/{live.project_id}/label")
    one_at_a_time(second)
    seen: dict[str, list[int]] = {"first": [], "second": []}
    for _ in range(5):
        for name, page, key in (("first", first, "y"), ("second", second, "y")):
            _wait_ready(page)
            seen[name].append(_face(page))
            # What the other one shows at this moment is never the same face.
            other = second if page is first else first
            assert _face(other) != _face(page)
            page.keyboard.press(key)
    shot(first, "09-two-labellers-a")
    shot(second, "10-two-labellers-b")
    assert len(set(seen["first"])) == len(set(seen["second"])) == 5
    assert not set(seen["first"]) & set(seen["second"])
    for page in (first, second):
        _wait_saved(page)
    # Leaving the page hands the prefetched faces back at once.
    ids = {name: live.user_id(user) for name, user in (("first", OWNER), ("second", SECOND))}
    for page in (first, second):
        page.goto("about:blank")
    deadline = time.monotonic() + 10
    while True:
        with live.engine.connect() as conn:
            held = conn.execute(select(func.count()).select_from(faces).where(
                faces.c.reserved_by.in_(list(ids.values())))).scalar_one()
        if held == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert held == 0
    with live.engine.connect() as conn:
        answers = conn.execute(select(decisions.c.user_id, decisions.c.face_id,
                                      decisions.c.answer)
                               .where(decisions.c.face_id.in_(seen["first"] + seen["second"]),
                                      decisions.c.via == "classify")).all()
    by_user = {(r.user_id, r.face_id): r.answer for r in answers}
    for face_id in seen["first"]:
        assert by_user[(ids["first"], face_id)] == "yes"
    for face_id in seen["second"]:
        assert by_user[(ids["second"], face_id)] == "yes"
    for page in (first, second):
        page.context.close()


def test_label_undo_draw_review_end_to_end(live: Live) -> None:
    page = live.new_page()
    live.login(page, OWNER, f"/projects/{live.project_id}/label")
    page.wait_for_url(f"{live.base}/projects/{live.project_id}/label")
    one_at_a_time(page)
    _wait_ready(page)
    shot(page, "03-classify")
    # On a phone: no sideways scrolling, the answer buttons at hand (a grid page's too).
    phone = live.new_page(viewport={"width": 390, "height": 844})
    live.login(phone, OWNER, f"/projects/{live.project_id}/label")
    phone.wait_for_url(f"{live.base}/projects/{live.project_id}/label")
    phone.wait_for_function("() => document.getElementById('classify').dataset.state")
    if phone.get_attribute("#classify", "data-state") == "grid":
        shot(phone, "04-grid-phone")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert phone.locator("#grid-confirm").is_visible()
        one_at_a_time(phone)
    shot(phone, "04-classify-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.locator("button[data-answer=yes]").is_visible()
    phone.goto("about:blank")      # hands its reserved faces back
    phone.context.close()
    _a11y(page)
    focused = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        focused.add(page.evaluate("document.activeElement.dataset.answer || ''"))
    assert {"yes", "no", "skip", "not_face"} <= focused
    page.locator("#main").focus()

    with live.engine.connect() as conn:
        before_id = conn.execute(select(func.max(decisions.c.id))).scalar() or 0
    shown: list[int] = []
    render_ms: list[float] = []
    for key in KEYS:
        _wait_ready(page)
        before = _face(page)
        page.keyboard.press(key)
        # The next face is on screen as soon as the key event is handled: no network wait.
        after = _face(page)
        assert after and after != before
        shown.append(before)
        render_ms.append(float(page.get_attribute("#classify", "data-last-render-ms")))
    assert len(set(shown)) == 20
    for _ in range(3):
        page.keyboard.press("u")
    # The newest undo shows the third-last face again.
    assert _face(page) == shown[-3]
    _wait_saved(page)
    print(f"\nkey press -> next face: median {np.median(render_ms):.1f} ms, "
          f"max {max(render_ms):.1f} ms (20 answers)")

    # Every decision is in the database, in order, with the labels derived from them.
    me = live.user_id(OWNER)
    with live.engine.connect() as conn:
        rows = conn.execute(select(decisions).where(decisions.c.user_id == me,
                                                    decisions.c.project_id == live.project_id,
                                                    decisions.c.id > before_id)
                            .order_by(decisions.c.id)).all()
        labels = dict(conn.execute(select(faces.c.id, faces.c.label)
                                   .where(faces.c.id.in_(shown))).all())
    assert [(r.face_id, r.answer) for r in rows[:20]] == [
        (face_id, ANSWER_OF[key]) for face_id, key in zip(shown, KEYS, strict=True)]
    assert [r.answer for r in rows[20:]] == ["undo"] * 3
    assert [r.undoes_id for r in rows[20:]] == [rows[19].id, rows[18].id, rows[17].id]
    for n, (face_id, key) in enumerate(zip(shown, KEYS, strict=True)):
        expected = None if n >= 17 else LABEL_OF[ANSWER_OF[key]]
        assert labels[face_id] == expected, (n, key)

    # A missed face: drag a box on the image, save with Enter.
    current = _face(page)
    with live.engine.connect() as conn:
        image_id = conn.execute(select(faces.c.image_id).where(faces.c.id == current)).scalar()
    page.keyboard.press("d")
    box = page.locator("#face-image").bounding_box()
    x1, y1 = box["x"] + box["width"] * 0.05, box["y"] + box["height"] * 0.6
    x2, y2 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.9
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move(x2, y2, steps=8)
    page.mouse.up()
    shot(page, "05-draw")
    page.keyboard.press("Enter")
    _wait_saved(page)
    expected = ((x1 - box["x"]) / box["width"], (y1 - box["y"]) / box["height"],
                (x2 - x1) / box["width"], (y2 - y1) / box["height"])
    with live.engine.connect() as conn:
        drawn = conn.execute(select(faces).where(faces.c.project_id == live.project_id,
                                                 faces.c.source == "manual")).one()
        job = conn.execute(select(jobs.c.kind).where(jobs.c.face_id == drawn.id)).scalar()
    assert drawn.image_id == image_id and drawn.created_by == me
    got = (drawn.box_left, drawn.box_top, drawn.box_width, drawn.box_height)
    assert np.allclose(got, expected, atol=0.01), (got, expected)
    assert job == "encode_box"
    # The worker's pool encodes exactly that region.
    deadline = time.monotonic() + 60
    while True:
        with live.engine.connect() as conn:
            state = conn.execute(select(faces.c.state, detections.c.encoding)
                                 .outerjoin(detections,
                                            detections.c.id == faces.c.detection_id)
                                 .where(faces.c.id == drawn.id)).one()
        if state.state != "encoding":
            break
        assert time.monotonic() < deadline, "the drawn box was not encoded in time"
        time.sleep(0.5)
    assert state.state in ("active", "error")
    if state.state == "active":
        assert len(state.encoding) == 512

    # Fixing a wrong box with the keyboard only: E, arrows move, Shift + arrows resize, Enter.
    wrong = _face(page)
    page.keyboard.press("e")
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "Shift+ArrowDown", "Shift+ArrowDown"):
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    _wait_saved(page)
    assert _face(page) != wrong
    with live.engine.connect() as conn:
        old_state = conn.execute(select(faces.c.state).where(faces.c.id == wrong)).scalar()
        fixed = conn.execute(select(faces).where(faces.c.project_id == live.project_id,
                                                 faces.c.source == "manual",
                                                 faces.c.id != drawn.id)).one()
        fixed_job = conn.execute(select(jobs.c.kind).where(
            jobs.c.face_id == fixed.id)).scalar()
    assert old_state == "replaced"
    assert np.allclose((fixed.box_left, fixed.box_top, fixed.box_width, fixed.box_height),
                       (0.43, 0.35, 0.2, 0.32), atol=1e-6)
    assert fixed_job == "encode_box"

    # The owner reads the histogram and sets the threshold below the unlabelled faces' scores
    # (all 40 files show the same person, so the calibrated one may leave nothing to review).
    _ensure_scores(live)
    page.goto(f"{live.base}/projects/{live.project_id}/settings")
    page.get_by_label("Score threshold for proposals (empty: calibrated)").fill("0.3")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_load_state()

    # Review: proposals least certain first; reject the first, approve the page with A.
    page.goto(f"{live.base}/projects/{live.project_id}/review")
    page.wait_for_function("() => ['ready', 'empty'].includes("
                           "document.getElementById('review').dataset.state)")
    if page.get_attribute("#review", "data-state") == "empty":
        shot(page, "06-review-empty")
        with live.engine.connect() as conn:
            rows = conn.execute(select(faces.c.label, faces.c.score, faces.c.source).where(
                faces.c.project_id == live.project_id)).all()
        raise AssertionError(f"no proposals: {rows}")
    cards = page.locator("button.review-face")
    ids = [int(cards.nth(i).get_attribute("data-face")) for i in range(cards.count())]
    assert ids, "no proposals to review"
    cards.nth(0).click()
    assert cards.nth(0).get_attribute("aria-pressed") == "true"
    shot(page, "06-review")
    _a11y(page)
    page.locator("#review-grid").focus()
    page.keyboard.press("a")
    page.wait_for_function(
        "() => document.getElementById('review-status').textContent.length > 0")
    with live.engine.connect() as conn:
        reviewed = dict(conn.execute(
            select(decisions.c.face_id, decisions.c.answer)
            .where(decisions.c.via == "review", decisions.c.user_id == me)).all())
        labels = dict(conn.execute(select(faces.c.id, faces.c.label)
                                   .where(faces.c.id.in_(ids))).all())
    assert reviewed == {ids[0]: "reject", **{i: "approve" for i in ids[1:]}}
    assert labels == {ids[0]: "no", **{i: "yes" for i in ids[1:]}}
    shot(page, "07-review-after")

    # The progress page reflects it all.
    page.goto(f"{live.base}/projects/{live.project_id}/progress")
    labelled = page.text_content("#bar-labelled-count")
    assert int(labelled.split("/")[0]) >= 17 - 2 + len(ids)   # minus the skips; plus review
    shot(page, "08-progress-after")
    _a11y(page)
    # Live: the page polls and updates itself without a reload.
    page.wait_for_function("() => document.getElementById('progress').dataset.updated",
                           timeout=12_000)
    page.context.close()
    assert not live.csp_errors


GRID_FACES = 6


def _grid_project(live: Live) -> tuple[int, list[int]]:
    """A second project of the owner on six of the live project's photos (the same files and
    detections, as a second project on the same person gets them), whose faces the model
    finds likely: scores 0.95 down to 0.90. No crawl is due. Returns its id and face ids,
    best first."""
    owner = live.user_id(OWNER)
    with live.engine.begin() as conn:
        source = conn.execute(
            select(faces.c.detection_id, faces.c.box_left, faces.c.box_top, faces.c.box_width,
                   faces.c.box_height, images.c.page_id, images.c.title, images.c.thumb_url,
                   images.c.thumb_width, images.c.thumb_height)
            .join(images, images.c.id == faces.c.image_id)
            .where(faces.c.project_id == live.project_id, faces.c.state == "active",
                   faces.c.detection_id.is_not(None), images.c.thumb_url.is_not(None))
            .order_by(faces.c.id).limit(GRID_FACES)).all()
        assert len(source) == GRID_FACES
        project_id = conn.execute(projects.insert().values(
            owner_id=owner, qid="Q207", label=PERSON, category=PERSON, depth=0,
            next_crawl_at=utcnow() + dt.timedelta(days=1))).inserted_primary_key[0]
        conn.execute(project_members.insert().values(project_id=project_id, user_id=owner,
                                                     role="owner"))
        face_ids = []
        for n, row in enumerate(source):
            image_id = conn.execute(images.insert().values(
                project_id=project_id, page_id=row.page_id, title=row.title, status="done",
                thumb_url=row.thumb_url, thumb_width=row.thumb_width,
                thumb_height=row.thumb_height)).inserted_primary_key[0]
            face_ids.append(conn.execute(faces.insert().values(
                project_id=project_id, image_id=image_id, detection_id=row.detection_id,
                box_left=row.box_left, box_top=row.box_top, box_width=row.box_width,
                box_height=row.box_height, score=0.95 - n * 0.01,
                priority=n)).inserted_primary_key[0])
    return project_id, face_ids


def test_grid_page_click_out_confirm_and_undo(live: Live) -> None:
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    project_id, face_ids = _grid_project(live)
    page = live.new_page()
    live.login(page, OWNER, f"/projects/{project_id}/label")
    page.wait_for_url(f"{live.base}/projects/{project_id}/label")
    page.wait_for_function("() => document.getElementById('classify').dataset.state === 'grid'")
    # "Are these all George W. Bush?" over the six faces, best first, each a toggle button.
    assert page.get_by_role("heading", name=f"Are these all {PERSON}?").is_visible()
    assert page.get_attribute("#classify", "data-grid") == ",".join(map(str, face_ids))
    tiles = page.locator("button.grid-face")
    assert tiles.count() == GRID_FACES
    assert [tiles.nth(i).get_attribute("aria-pressed") for i in range(GRID_FACES)] == \
        ["false"] * GRID_FACES
    # Every crop is drawn from its photo.
    page.wait_for_function("() => document.querySelectorAll("
                           "'button.grid-face[data-drawn=\"1\"]').length === 6")
    assert page.evaluate("document.activeElement.id") == "grid-faces"
    _a11y(page)
    assert axe_violations(page) == []

    # Key 3 marks the third face, pressing it again unmarks it; a click marks the second.
    page.keyboard.press("3")
    assert tiles.nth(2).get_attribute("aria-pressed") == "true"
    assert tiles.nth(2).locator(".reject-mark").is_visible()
    page.keyboard.press("3")
    assert tiles.nth(2).get_attribute("aria-pressed") == "false"
    tiles.nth(1).click()
    assert tiles.nth(1).get_attribute("aria-pressed") == "true"
    assert page.get_by_role("button", name=re.compile(f"not {PERSON}")).count() == 1
    shot(page, "11-grid")
    assert axe_violations(page) == []
    page.keyboard.press("Enter")          # the clicked face has focus: Enter still confirms
    _wait_saved(page)
    page.wait_for_function("() => document.getElementById('classify').dataset.state !== 'grid'")
    me = live.user_id(OWNER)
    with live.engine.connect() as conn:
        rows = conn.execute(select(decisions.c.face_id, decisions.c.answer, decisions.c.via,
                                   decisions.c.user_id)
                            .where(decisions.c.project_id == project_id)
                            .order_by(decisions.c.id)).all()
        labels = dict(conn.execute(select(faces.c.id, faces.c.label)
                                   .where(faces.c.id.in_(face_ids))).all())
    clicked = face_ids[1]
    assert {(r.face_id, r.answer) for r in rows} == {
        (f, "no" if f == clicked else "yes") for f in face_ids}
    assert {(r.via, r.user_id) for r in rows} == {("grid", me)}
    assert labels == {f: "no" if f == clicked else "yes" for f in face_ids}

    # Backspace takes the whole page back: on screen at once, as it was sent, and in the
    # database (one undo per face; every label NULL again).
    page.keyboard.press("Backspace")
    assert page.get_attribute("#classify", "data-state") == "grid"
    assert page.get_attribute("#classify", "data-grid") == ",".join(map(str, face_ids))
    assert tiles.nth(1).get_attribute("aria-pressed") == "true"
    _wait_saved(page)
    with live.engine.connect() as conn:
        undos = conn.execute(select(decisions.c.undoes_id).where(
            decisions.c.project_id == project_id, decisions.c.answer == "undo")).all()
        labels = dict(conn.execute(select(faces.c.id, faces.c.label)
                                   .where(faces.c.id.in_(face_ids))).all())
        held = set(conn.execute(select(faces.c.reserved_by)
                                .where(faces.c.id.in_(face_ids))).scalars())
    assert len(undos) == GRID_FACES
    assert labels == {f: None for f in face_ids}
    assert held == {me}
    shot(page, "12-grid-undone")
    # Confirmed again as it came back: the same answers, through a new page.
    page.keyboard.press("y")
    _wait_saved(page)
    page.wait_for_function("() => document.getElementById('classify').dataset.state === 'empty'")
    with live.engine.connect() as conn:
        labels = dict(conn.execute(select(faces.c.id, faces.c.label)
                                   .where(faces.c.id.in_(face_ids))).all())
    assert labels == {f: "no" if f == clicked else "yes" for f in face_ids}

    # The stop signal: once the latest model run says it is done, the project page and the
    # classify page say so, and the queue asks for unlikely faces only after "Keep asking
    # anyway". (First wait for the retrain the answers asked for: the run below stays the
    # latest.)
    deadline = time.monotonic() + 60
    while True:
        with live.engine.connect() as conn:
            open_jobs = conn.execute(select(func.count()).select_from(jobs).where(
                jobs.c.project_id == project_id,
                jobs.c.state.in_(("queued", "running")))).scalar_one()
        if not open_jobs:
            break
        assert time.monotonic() < deadline, "the retrain did not finish in time"
        time.sleep(0.5)
    with live.engine.begin() as conn:
        conn.execute(model_runs.insert().values(project_id=project_id, n_uncertain=0,
                                                expected_left=0.2, expected_next=0.2))
    # every face of this project is answered: nothing can be left to find
    message = "Done for now: 5 found, about 0 left."
    page.goto(f"{live.base}/projects/{project_id}/progress")
    assert page.text_content("#stop-done-text") == message
    page.evaluate("document.getElementById('stop-done-text').textContent = ''")
    page.wait_for_function("() => document.getElementById('progress').dataset.updated")
    assert page.text_content("#stop-done-text") == message   # as the live poll writes it
    with page.expect_request(lambda r: r.url.endswith("/queue/next")
                             and '"more":true' in (r.post_data or "")):
        page.get_by_role("link", name="Keep asking anyway").click()
    assert page.locator("#stop-more").is_visible()      # asked for on the project page

    page.goto(f"{live.base}/projects/{project_id}/label")
    done = page.locator("#stop-done")
    done.wait_for(state="visible")
    assert page.text_content("#stop-done-text") == message
    page.wait_for_function("() => document.getElementById('classify').dataset.state === 'empty'")
    assert not page.locator("#empty").is_visible()      # the done message says it instead
    assert not page.locator(".classify-layout").is_visible()   # no empty face panel ...
    assert not page.get_by_role("button", name="Yes").is_visible()  # ... nor answer buttons
    assert page.get_by_role("button", name="Undo U").is_visible()   # but Undo stays
    assert page.get_by_role("link", name="Send the confirmed faces to Commons").is_visible()
    assert axe_violations(page) == []
    shot(page, "13-done-for-now")
    with page.expect_request(lambda r: r.url.endswith("/queue/next")
                             and '"more":true' in (r.post_data or "")):
        page.get_by_role("button", name="Keep asking anyway").click()
    assert page.locator("#stop-more").is_visible()
    assert not page.get_by_role("button", name="Keep asking anyway").is_visible()
    page.context.close()
    assert not live.csp_errors


def _ensure_scores(live: Live) -> None:
    """Proposals need model scores. When the worker trains (a `train` job handler), wait for
    its run; until one is registered, score with the real model code once, as a run would."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with live.engine.connect() as conn:
            scored = conn.execute(select(func.count()).select_from(faces).where(
                faces.c.project_id == live.project_id, faces.c.score.is_not(None))).scalar_one()
            open_train = conn.execute(select(func.count()).select_from(jobs).where(
                jobs.c.kind == "train", jobs.c.state.in_(("queued", "running")))).scalar_one()
        if scored:
            return
        if not open_train:
            break
        time.sleep(0.5)
    with live.engine.begin() as conn:
        rows = conn.execute(select(faces.c.id, detections.c.encoding, faces.c.image_id,
                                   faces.c.label)
                            .join(detections, detections.c.id == faces.c.detection_id).where(
            faces.c.project_id == live.project_id, faces.c.state == "active")).all()
        result = model_run.run(
            np.stack([np.frombuffer(r.encoding, "<f4") for r in rows]),
            np.array([r.image_id for r in rows]),
            model_run.labels_from_strings([r.label for r in rows]))
        assert result is not None
        for row, score in zip(rows, result.scores, strict=True):
            conn.execute(update(faces).where(faces.c.id == row.id).values(score=float(score)))


@pytest.fixture(scope="module", autouse=True)
def _fresh_screenshots() -> None:
    SHOTS.mkdir(exist_ok=True)
    for old in SHOTS.glob("[01]*.png"):
        old.unlink()
