"""No secrets in the logs: gunicorn started as the Procfile says writes access lines without the
OAuth authorization code and state or invite codes; the JSON log lines (which carry the
development server's request lines) are scrubbed the same way."""

from __future__ import annotations

import io
import logging
import os
import shlex
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import requests

from bench.deployed import free_port, healthy, procfile
from likeness.config import REPO_ROOT
from likeness.logs import JsonFormatter, ScrubSecrets, scrub
from tests.waiting import wait_for

CODE, STATE, INVITE = "SeCrEtCoDe42", "SeCrEtStAtE42", "SeCrEtInViTe42"


def test_gunicorn_access_log_has_no_oauth_or_invite_codes(db_url, tmp_path):
    port = free_port()
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
           "TOOL_DATABASE__URL": db_url, "TOOL_SECRET_KEY": uuid.uuid4().hex,
           "TOOL_SECURE_COOKIES": "false", "TOOL_DATA_DIR": str(tmp_path),
           "TOOL_OAUTH__CLIENT_ID": "c", "TOOL_OAUTH__CLIENT_SECRET": "s",
           "TOOL_WIKI__OAUTH_BASE": "http://127.0.0.1:9/w/rest.php",
           "LIKENESS_CONFIG": str(tmp_path / "none.yaml"), "PYTHONUNBUFFERED": "1"}
    command = procfile()["web"].replace("0.0.0.0:8000", f"127.0.0.1:{port}")
    command = command.replace("--workers 2", "--workers 1")
    log_path = tmp_path / "web.log"
    with log_path.open("wb") as log:
        web = subprocess.Popen(shlex.split(command), cwd=REPO_ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: healthy(base), 60, "gunicorn", log=log_path)
        callback = requests.get(f"{base}/login/wikimedia/authorized?code={CODE}&state={STATE}",
                                allow_redirects=False, timeout=10)
        assert callback.status_code == 302
        assert requests.get(f"{base}/join/{INVITE}", allow_redirects=False,
                            timeout=10).status_code == 302
        wait_for(lambda: "/join/" in log_path.read_text(), 10, "the access log", log=log_path)
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(20)
    text = log_path.read_text()
    assert "/login/wikimedia/authorized?code=[redacted]&state=[redacted]" in text
    assert "/join/[redacted]" in text
    for secret in (CODE, STATE, INVITE):
        assert secret not in text


def test_json_log_lines_are_scrubbed():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ScrubSecrets())
    logger = logging.getLogger("werkzeug.test-scrub")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        # The development server logs request lines like this.
        logger.warning('%s - - "%s" %s -', "127.0.0.1",
                       f"GET /login/wikimedia/authorized?state={STATE}&code={CODE} HTTP/1.1", 302)
    finally:
        logger.removeHandler(handler)
    line = stream.getvalue()
    assert CODE not in line and STATE not in line and "state=[redacted]&code=[redacted]" in line


def test_scrub_keeps_what_is_not_secret():
    assert scrub("GET /api/items/search?q=code&lang=de HTTP/1.1") == \
        "GET /api/items/search?q=code&lang=de HTTP/1.1"
    assert scrub("/x?decode=1&mycode=2") == "/x?decode=1&mycode=2"
    assert scrub("code=a&state=b") == "code=[redacted]&state=[redacted]"
    assert scrub("GET /join/Abc?next=/x HTTP/1.1") == "GET /join/[redacted]?next=/x HTTP/1.1"
