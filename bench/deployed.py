"""The tool as the Procfile starts it (gunicorn and workers), and a client that talks to it as
its UI does (CSRF header, same Origin). Used by the end-to-end test
(tests/test_e2e_deployed.py) and by benchmarks that drive the product over HTTP
(bench/labeller.py)."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def procfile() -> dict[str, str]:
    lines = (REPO / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def healthy(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


@dataclass
class Tool:
    base: str
    procs: dict[str, subprocess.Popen]   # "web", "worker1", "worker2", ...
    logs: Path

    def stop(self) -> None:
        """SIGTERM everything, then kill what is still running after 30 s."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_tool(env: dict[str, str], workdir: Path, *, workers: int = 1,
               ready_seconds: float = 60) -> Tool:
    """Migrate, then start gunicorn and ``workers`` workers exactly as the Procfile does, with
    a fresh secret, data in ``workdir`` and ``env`` on top (the stand-in's TOOL_* variables,
    a database URL, ...). Returns once /healthz answers."""
    venv_bin = str(Path(sys.executable).parent)
    full_env = {**os.environ, "PATH": venv_bin + os.pathsep + os.environ["PATH"],
                "TOOL_SECRET_KEY": uuid.uuid4().hex, "TOOL_SECURE_COOKIES": "false",
                "TOOL_DATA_DIR": str(workdir), "TOOL_WORKER__POLL_INTERVAL": "0.3",
                "TOOL_EDITS__PACE_SECONDS": "0", "LIKENESS_CONFIG": str(workdir / "none.yaml"),
                "PYTHONUNBUFFERED": "1", **env}
    commands = procfile()
    logs = workdir / "logs"
    logs.mkdir(exist_ok=True)
    subprocess.run(shlex.split(commands["migrate"]), cwd=REPO, env=full_env, check=True,
                   capture_output=True)

    def start(name: str, command: str) -> subprocess.Popen:
        out = (logs / f"{name}.log").open("wb")
        return subprocess.Popen(shlex.split(command), cwd=REPO, env=full_env, stdout=out,
                                stderr=subprocess.STDOUT)

    port = free_port()
    procs = {"web": start("web", commands["web"].replace("0.0.0.0:8000", f"127.0.0.1:{port}"))}
    procs.update({f"worker{n}": start(f"worker{n}", commands["worker"])
                  for n in range(1, workers + 1)})
    tool = Tool(f"http://127.0.0.1:{port}", procs, logs)
    deadline = time.monotonic() + ready_seconds
    while not healthy(tool.base):
        if time.monotonic() > deadline:
            tool.stop()
            log = (logs / "web.log").read_text(errors="replace")[-3000:]
            raise TimeoutError(f"gunicorn did not answer in {ready_seconds:.0f} s\n{log}")
        time.sleep(0.3)
    return tool


class Client:
    """A requests session that behaves like the UI: CSRF header and same Origin on writes."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.csrf = ""

    def login(self) -> str:
        """Log in through the (stand-in's) Wikimedia OAuth; returns the user name."""
        page = self.http.get(self.base + "/login/wikimedia", timeout=30)  # follows the dance
        assert page.status_code == 200, page.text[:500]
        html = self.http.get(self.base + "/", timeout=10).text
        found = re.search(r'name="csrf-token" content="([^"]+)"', html)
        assert found, "no CSRF token on the home page"
        self.csrf = found.group(1)
        return str(self.get("/api/me")["user"]["username"])

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        headers = {"X-CSRF-Token": self.csrf, "Origin": self.base}
        return self.http.post(self.base + path, json=body, headers=headers, timeout=30)

    def post_ok(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST that must succeed; its JSON answer."""
        response = self.post(path, body)
        assert response.status_code < 300, (path, response.status_code, response.text[:300])
        return dict(response.json())

    def get(self, path: str) -> dict[str, Any]:
        response = self.http.get(self.base + path, timeout=30)
        assert response.status_code == 200, (path, response.text[:300])
        return dict(response.json())
