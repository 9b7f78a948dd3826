"""Sending depicts edits to Commons: preview, 'Send edits', progress, retry, and undo.

Who may send: the owner, or any member when the owner allowed it (``members_can_send``).
A member without that permission sees the progress and a note, and a POST is turned away with
a message (a redirect, not an error page: the form is simply not theirs to use). The person who
presses 'Send edits' is the one whose OAuth token writes, so their user id goes on each row.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, g, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _

from likeness.db import edits as edit_rows
from likeness.db import jobs
from likeness.edits import plan
from webapp.access import current_user, member_required, require_writable
from webapp.context import config, engine
from webapp.security import rate_limit

log = logging.getLogger(__name__)

bp = Blueprint("edits", __name__)

LIST_LIMIT = 100
TABLE_LIMIT = 200


def can_send(project: Any, role: str) -> bool:
    return role == "owner" or bool(project.members_can_send)


def revision_url(revision_id: int | None, title: str) -> str:
    wiki = config().wiki.commons_wiki
    if revision_id:
        return f"{wiki}Special:Diff/{revision_id}"
    return f"{wiki}{title.replace(' ', '_')}?action=history"


def _lists(conn: Any, project_id: int) -> dict[str, Any]:
    return {
        "counts": edit_rows.progress(conn, project_id),
        "done": edit_rows.listing(conn, project_id, ["done"], LIST_LIMIT),
        "failed": edit_rows.listing(conn, project_id, ["failed"], LIST_LIMIT),
        "skipped": edit_rows.listing(conn, project_id, ["skipped", "cancelled"], LIST_LIMIT),
        "open": edit_rows.listing(conn, project_id, ["pending", "sending"], LIST_LIMIT),
    }


@bp.get("/projects/<int:project_id>/edits")
@member_required()
def index(project_id: int) -> str:
    allowed = can_send(g.project, g.role)
    with engine().connect() as conn:
        preview = plan.preview(conn, project_id) if allowed else None
        lists = _lists(conn, project_id)
    return render_template("edits/index.html", project=g.project, role=g.role,
                           allowed=allowed, preview=preview, table_limit=TABLE_LIMIT,
                           revision_url=revision_url, **lists)


def _refuse_unless_sender() -> Any | None:
    if not can_send(g.project, g.role):
        flash(_("Only the owner may send edits in this project."), "error")
        return redirect(url_for("edits.index", project_id=g.project.id))
    require_writable()
    return None


@bp.post("/projects/<int:project_id>/edits/send")
@member_required()
@rate_limit("write")
def send(project_id: int) -> Any:
    refused = _refuse_unless_sender()
    if refused is not None:
        return refused
    user = current_user()
    assert user is not None
    with engine().begin() as conn:
        batch, result = plan.queue_project(conn, project_id, user.id)
    log.info("edits.queued", extra={"project": project_id, "user": user.id, "batch": batch,
                                    "queued": result.queued, "existing": result.existing})
    if result.queued:
        flash(_("%(n)d edits queued; they are sent one at a time with your account.",
                n=result.queued), "success")
    else:
        flash(_("Nothing new to send."), "info")
    return redirect(url_for("edits.index", project_id=project_id))


@bp.post("/projects/<int:project_id>/edits/retry")
@member_required()
@rate_limit("write")
def retry(project_id: int) -> Any:
    refused = _refuse_unless_sender()
    if refused is not None:
        return refused
    user = current_user()
    assert user is not None
    with engine().begin() as conn:
        n = edit_rows.retry_failed(conn, project_id, user.id, plan.new_batch_id())
    flash(_("%(n)d failed edits queued again.", n=n), "success" if n else "info")
    return redirect(url_for("edits.index", project_id=project_id))


@bp.post("/projects/<int:project_id>/edits/undo")
@member_required("owner")
@rate_limit("write")
def undo(project_id: int) -> Any:
    require_writable()
    user = current_user()
    assert user is not None
    with engine().begin() as conn:
        job_id = jobs.enqueue_undo_edits(conn, project_id, user.id, plan.new_batch_id())
    if job_id is None:
        flash(_("An undo of this project's edits is already under way."), "info")
    else:
        flash(_("Undo queued: statements this tool added and nobody changed since will be "
                "removed."), "success")
    return redirect(url_for("edits.index", project_id=project_id))


def _edit_json(edit: edit_rows.Edit) -> dict[str, Any]:
    return {
        "id": edit.id, "page_id": edit.page_id, "title": edit.title, "qid": edit.qid,
        "action": edit.action, "region": edit.region, "state": edit.state,
        "statement_id": edit.statement_id, "revision_id": edit.revision_id,
        "revision_url": revision_url(edit.revision_id, edit.title) if edit.state == "done"
        else None,
        "error_code": edit.error_code, "error_message": edit.error_message,
        "retryable": edit.retryable, "attempts": edit.attempts,
        "updated_at": edit.updated_at.isoformat() + "Z" if edit.updated_at else None,
    }


@bp.get("/api/projects/<int:project_id>/edits")
@member_required()
def api_progress(project_id: int) -> Any:
    with engine().connect() as conn:
        lists = _lists(conn, project_id)
    return jsonify({
        "counts": lists["counts"],
        "done": [_edit_json(e) for e in lists["done"]],
        "failed": [_edit_json(e) for e in lists["failed"]],
        "open": [_edit_json(e) for e in lists["open"]],
        "skipped": [_edit_json(e) for e in lists["skipped"]],
        "can_send": can_send(g.project, g.role),
    })
