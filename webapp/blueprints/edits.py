"""The 'Edits to Commons' page. It is a shell: static/js/edits.js fills it from the JSON API in
webapp/blueprints/api_edits.py (what 'Send' would write, live progress, results, batches and
their undo), the same endpoints a script would use."""

from __future__ import annotations

from flask import Blueprint, g, render_template, url_for

from webapp.access import member_required
from webapp.rights import refresh

bp = Blueprint("edits", __name__)


@bp.get("/projects/<int:project_id>/edits")
@member_required()
def index(project_id: int) -> str:
    refresh()   # the banner then says at once if Commons no longer lets this account edit
    base = url_for("api_edits.summary", project_id=project_id)
    urls = {"summary": base, "preview": base + "/preview", "list": base + "/list",
            "batches": base + "/batches", "send": base + "/send", "cancel": base + "/cancel",
            "retry": base + "/retry"}
    return render_template("edits/index.html", project=g.project, role=g.role, urls=urls)
