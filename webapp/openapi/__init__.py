"""The OpenAPI description of /api, served at /api/openapi.yaml and /api/openapi.json.

Assembled at start-up from ``base.yaml`` plus every other ``*.yaml`` fragment in this folder
(one per area: projects.yaml, label.yaml, edits.yaml ...). A fragment holds top-level ``paths``,
and optionally ``components`` (schemas, responses ...) and ``tags``; they are merged, and two
fragments defining the same path or component is an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Response, current_app

from webapp.access import public

HERE = Path(__file__).resolve().parent

bp = Blueprint("openapi", __name__)


def assemble(folder: Path = HERE) -> dict[str, Any]:
    spec = yaml.safe_load((folder / "base.yaml").read_text(encoding="utf-8"))
    spec.setdefault("paths", {})
    spec.setdefault("components", {})
    spec.setdefault("tags", [])
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "base.yaml":
            continue
        fragment = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for route, item in (fragment.get("paths") or {}).items():
            if route in spec["paths"]:
                raise ValueError(f"{path.name}: path {route} is already defined")
            spec["paths"][route] = item
        for section, entries in (fragment.get("components") or {}).items():
            target = spec["components"].setdefault(section, {})
            for name, value in entries.items():
                if name in target:
                    raise ValueError(f"{path.name}: components.{section}.{name} is defined twice")
                target[name] = value
        spec["tags"].extend(fragment.get("tags") or [])
    return spec


def _spec() -> dict[str, Any]:
    if "likeness.openapi" not in current_app.extensions:
        spec = assemble()
        spec["info"]["version"] = current_app.extensions["likeness.config"].app.version
        current_app.extensions["likeness.openapi"] = spec
    return current_app.extensions["likeness.openapi"]


@bp.get("/api/openapi.yaml")
@public
def openapi_yaml() -> Response:
    text = yaml.safe_dump(_spec(), sort_keys=False, allow_unicode=True)
    return Response(text, mimetype="application/yaml")


@bp.get("/api/openapi.json")
@public
def openapi_json() -> Response:
    return Response(json.dumps(_spec()), mimetype="application/json")
