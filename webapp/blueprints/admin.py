"""The admin status page: workers and heartbeats, queue depths, errors by kind, edit rate."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, jsonify, render_template

from likeness.db import status
from webapp.access import admin_required
from webapp.context import config, engine

bp = Blueprint("admin", __name__)


def _snapshot() -> dict[str, Any]:
    stale = dt.timedelta(seconds=config().worker.heartbeat_stale_seconds)
    with engine().connect() as conn:
        return status.snapshot(conn, stale)


@bp.get("/admin")
@admin_required
def page() -> str:
    return render_template("admin/status.html", status=_snapshot())


@bp.get("/api/admin/status")
@admin_required
def api_status() -> Any:
    return jsonify(_snapshot())
