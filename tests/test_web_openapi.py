"""The OpenAPI description is served, well-formed, and documents every /api route and method.

A new /api route needs an entry in a fragment under webapp/openapi/ (one file per area)."""

from __future__ import annotations

import re

import pytest
import yaml

from webapp.openapi import assemble

CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def test_served_as_yaml_and_json(web_app):
    client = web_app.test_client()
    as_yaml = yaml.safe_load(client.get("/api/openapi.yaml").get_data(as_text=True))
    as_json = client.get("/api/openapi.json").get_json()
    assert as_yaml == as_json
    assert as_yaml["openapi"].startswith("3.")
    assert as_yaml["info"]["version"] == web_app.extensions["likeness.config"].app.version


def test_every_api_route_is_documented(web_app):
    spec = assemble()
    missing = []
    for rule in web_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = CONVERTER.sub(r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method.lower() not in spec["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert not missing, "document these in webapp/openapi/<area>.yaml: " + ", ".join(missing)


def test_every_reference_resolves():
    spec = assemble()
    refs = re.findall(r"\$ref': '#/([^']+)'", str(spec))
    assert refs
    for ref in refs:
        node = spec
        for part in ref.split("/"):
            node = node[part]


def test_fragments_may_not_redefine_each_other(tmp_path):
    (tmp_path / "base.yaml").write_text("openapi: 3.1.0\ninfo: {title: t, version: '1'}\n")
    (tmp_path / "a.yaml").write_text("paths: {/api/x: {get: {}}}\n")
    (tmp_path / "b.yaml").write_text("paths: {/api/x: {post: {}}}\n")
    with pytest.raises(ValueError, match="/api/x"):
        assemble(tmp_path)
