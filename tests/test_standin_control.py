"""The control API (for tests that run the tool in other processes) and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from likeness.config import REPO_ROOT
from standin import Catalog, StandIn


def control(s: StandIn, verb: str, path: str, body: Any = None, **params: str) -> Any:
    resp = requests.request(verb, f"{s.base_url}/_standin/{path}", json=body, params=params,
                            timeout=5)
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


def _write(s: StandIn, token: str, mid: str, qid: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    got = requests.get(s.urls.api("commons"), headers=headers, timeout=5, params={
        "action": "query", "meta": "tokens", "format": "json"}).json()
    if "error" in got:
        return got
    csrf = got["query"]["tokens"]
    return requests.post(s.urls.api("commons"), headers=headers, timeout=5, data={
        "action": "wbcreateclaim", "entity": mid, "property": "P180", "snaktype": "value",
        "value": json.dumps({"id": qid}), "token": csrf["csrftoken"], "format": "json",
        "summary": "via control test"}).json()


def test_logs_entities_and_reset_over_http(standin: StandIn, standin_catalog: Catalog) -> None:
    assert control(standin, "GET", "health")["ok"] is True
    token = control(standin, "POST", "oauth/issue", {"user": "Likeness Tester"})["access_token"]
    mid = f"M{standin_catalog.files_without_sdc()[0].pageid}"
    qid = standin_catalog.person("madonna").qid
    assert _write(standin, token, mid, qid)["success"] == 1

    [edit] = control(standin, "GET", "edits", entity=mid)
    assert edit["user"] == "Likeness Tester" and edit["summary"] == "via control test"
    posts = control(standin, "GET", "requests", method="POST")
    assert [r["action"] for r in posts] == ["wbcreateclaim"]
    assert posts[0]["user"] == "Likeness Tester" and posts[0]["status"] == 200
    assert posts[0]["authorization"].startswith("Bearer …")     # tokens are not logged whole
    entity = control(standin, "GET", f"entity/{mid}")
    assert entity["statements"]["P180"][0]["mainsnak"]["datavalue"]["value"]["id"] == qid

    control(standin, "POST", "reset")
    assert control(standin, "GET", "edits") == []
    assert control(standin, "GET", f"entity/{mid}") == {"id": mid, "missing": ""}
    refused = _write(standin, token, mid, qid)                   # tokens do not survive reset
    assert refused["error"]["code"] == "mwoauth-invalid-authorization"


def test_tokens_clock_settings_and_search_over_http(standin: StandIn,
                                                    standin_catalog: Catalog) -> None:
    token = control(standin, "POST", "oauth/issue", {"user": "Zoë Reviewer"})["access_token"]
    mid = f"M{standin_catalog.files_without_sdc()[0].pageid}"
    qid = standin_catalog.person("madonna").qid
    control(standin, "POST", "search/freeze")
    assert _write(standin, token, mid, qid)["success"] == 1
    search = {"action": "query", "list": "search", "srsearch": f"haswbstatement:P180={qid}",
              "srnamespace": "6", "format": "json"}
    assert requests.get(standin.urls.api("commons"), params=search, timeout=5).json()[
        "query"]["searchinfo"]["totalhits"] == 0
    control(standin, "POST", "search/thaw")
    assert requests.get(standin.urls.api("commons"), params=search, timeout=5).json()[
        "query"]["searchinfo"]["totalhits"] == 1

    control(standin, "POST", "csrf/rotate")
    assert control(standin, "POST", "oauth/expire", {"user": "Zoë Reviewer"})["expired"] == 1
    assert _write(standin, token, mid, qid)["error"]["code"] == "mwoauth-invalid-authorization"
    settings = control(standin, "POST", "settings", {"token_ttl": 30})
    assert settings["token_ttl"] == 30
    assert control(standin, "POST", "clock", {"advance": 10})["offset"] == 10
    bad = requests.post(f"{standin.base_url}/_standin/settings", json={"nope": 1}, timeout=5)
    assert bad.status_code == 400
    assert requests.get(f"{standin.base_url}/_standin/nothing", timeout=5).status_code == 404
    summary = control(standin, "GET", "catalog")
    assert summary["files"] == len(standin_catalog.files) and "Zoë Reviewer" in summary["users"]


def test_next_user_over_http_drives_the_authorize_redirect(standin: StandIn) -> None:
    control(standin, "POST", "oauth/next-user", {"user": "Likeness Tester"})
    resp = requests.get(f"{standin.urls.oauth}/oauth2/authorize", timeout=5, params={
        "response_type": "code", "client_id": standin.client.client_id, "state": "abc",
        "redirect_uri": "http://localhost:5000/cb"}, allow_redirects=False)
    assert resp.status_code == 307
    final = requests.get(resp.headers["Location"], allow_redirects=False, timeout=5)
    assert final.headers["Location"].startswith("http://localhost:5000/cb?code=")
    control(standin, "POST", "oauth/next-user", {"user": None, "deny": True})
    denied = requests.get(resp.headers["Location"], allow_redirects=False, timeout=5)
    assert "error=unauthorized_client" in denied.headers["Location"]


CHILD = """
import os, requests
api = os.environ["TOOL_WIKI__COMMONS_API"]
body = requests.get(api, params={"action": "query", "list": "categorymembers",
    "cmtitle": "Category:Likeness test people", "format": "json"}, timeout=5).json()
print("members", len(body["query"]["categorymembers"]))
print("client", os.environ["TOOL_OAUTH__CLIENT_ID"])
"""


def test_cli_runs_a_command_pointed_at_the_stand_in(faces_dir: Path, tmp_path: Path) -> None:
    env_file = tmp_path / "standin.env"
    done = subprocess.run(
        [sys.executable, "-m", "standin", "--faces", str(faces_dir), "--port", "0",
         "--out", str(tmp_path / "catalog"), "--env-file", str(env_file),
         "--", sys.executable, "-c", CHILD],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "members 10" in done.stdout
    assert "Likeness stand-in for Wikimedia at http://127.0.0.1:" in done.stdout
    lines = env_file.read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("export TOOL_WIKI__COMMONS_API=http://127.0.0.1:")
               for line in lines)
    client = next(line for line in done.stdout.splitlines() if line.startswith("client "))
    assert f"export TOOL_OAUTH__CLIENT_ID={client.split()[1]}" in lines
    assert (tmp_path / "catalog" / "manifest.json").exists()


def test_cli_serves_until_stopped(faces_dir: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "standin", "--faces", str(faces_dir), "--port", "0",
         "--out", str(tmp_path / "catalog")],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        base = first.rsplit(" at ", 1)[1].strip().rstrip("/")
        assert requests.get(f"{base}/_standin/health", timeout=5).json()["ok"] is True
        assert "Likeness stand-in" in requests.get(f"{base}/", timeout=5).text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_request_log_filters_by_route_prefix_and_parameters(standin: StandIn) -> None:
    api = standin.urls.api("commons")
    requests.get(api, params={"action": "query", "meta": "tokens", "format": "json"}, timeout=5)
    requests.get(api, params={"action": "query", "list": "categorymembers", "format": "json",
                              "cmtitle": "Category:Bill Gates"}, timeout=5)
    requests.get(f"{standin.urls.upload}/wikipedia/commons/0/00/Nope.jpg", timeout=5)
    assert len(control(standin, "GET", "requests", route="commons")) == 2
    listing = control(standin, "GET", "requests", route="commons", list="categorymembers")
    assert [r["params"]["cmtitle"] for r in listing] == ["Category:Bill Gates"]
    [upload] = control(standin, "GET", "requests", route="upload")
    assert upload["status"] == 404
    last = listing[0]["seq"]
    assert [r["route"] for r in control(standin, "GET", "requests", since=str(last))] == [
        "upload.original"]
