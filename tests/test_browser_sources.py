"""Candidate sources in a real browser (Debian's Chromium through Playwright) against the web
app on a real port and the stand-in: the new-project page shows what each source would add
once the item is typed, the choice is saved, and the settings page shows the counts again
(JavaScript from static files only: no CSP errors)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete

from likeness.config import load_config
from likeness.db import sources
from likeness.db.schema import metadata
from standin.faces_catalog import EVENT_LABELS
from tests.test_browser_label import CHROMIUM, CHROMIUM_ARGS, OWNER, Live, _skip_reason, shot
from webapp import create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def web(db_url: str, session_engine: Engine, standin_server: Any,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The web app on a port and a browser; no worker (the crawl job just waits)."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    standin_server.reset()
    overrides = {**standin_server.config_overrides(), "secret_key": "browser-test-secret",
                 "secure_cookies": False, "database": {"url": db_url},
                 "data_dir": str(tmp_path_factory.mktemp("browser-sources")),
                 "sources": {"search_files": 5}}
    cfg = load_config(path="/nonexistent/config.yaml", environ={}, overrides=overrides)
    server = make_server("127.0.0.1", 0, create_app(cfg), threaded=True)
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                         headless=True)
    try:
        yield Live(f"http://127.0.0.1:{server.server_port}", session_engine, browser,
                   standin_server)
    finally:
        browser.close()
        playwright.stop()
        server.shutdown()
        with session_engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(delete(table))


def test_sources_are_counted_before_opting_in_and_saved(web: Live) -> None:
    page = web.new_page()
    web.login(page, OWNER, "/projects/new")
    page.wait_for_url(f"{web.base}/projects/new")
    gates = web.standin.catalog.person("bill_gates")
    page.get_by_label("Commons category").fill("Likeness test empty")
    page.get_by_label("Person (Wikidata item)").fill(gates.qid)
    related = page.locator("#source-related")
    related.filter(has_text="About 3 files").wait_for()
    assert EVENT_LABELS["en"] in related.text_content()
    search = page.locator("#source-search").text_content()
    assert "About 5 files for “Bill Gates”" in search and "at most 5" in search
    assert "Category:Bill Gates" in page.locator("#source-commons_category").text_content()
    shot(page, "sources-01-new")
    page.locator('input[name="sources"][value="related"]').check()
    page.get_by_label("Subcategory depth").fill("0")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(f"{web.base}/projects/*")
    project_id = int(page.url.rsplit("/", 1)[1])
    with web.engine.connect() as conn:
        assert [s.kind for s in sources.of_project(conn, project_id)] == ["related"]

    page.goto(f"{web.base}/projects/{project_id}/settings")
    page.locator("#source-related").filter(has_text="About 3 files").wait_for()
    assert page.locator('input[name="sources"][value="related"]').is_checked()
    page.locator('input[name="sources"][value="search"]').check()
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url(f"{web.base}/projects/{project_id}/settings")
    with web.engine.connect() as conn:
        assert [s.kind for s in sources.of_project(conn, project_id)] == ["search", "related"]
    shot(page, "sources-02-settings")
    assert web.csp_errors == []
