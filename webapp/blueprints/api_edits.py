"""JSON API of the edits page: what 'Send' would write, sending, progress, cancel, retry, and
undo of a batch (documented in webapp/openapi/edits.yaml; static/js/edits.js uses only these).

Who may: every member reads; the owner sends, cancels and retries, or any member when the
owner allowed it (``members_can_send``); only the owner undoes. Whoever sends writes with their
own OAuth token, so an account Commons says cannot edit (blocked, or a login without the
editing grant) is refused before anything is queued.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from flask import Blueprint, g, request

from likeness.db import edit_reports as reports
from likeness.db import edits as edit_rows
from likeness.db.edit_reports import EditReport
from likeness.db.users import User
from likeness.edits import plan
from likeness.edits.rights import current as current_rights
from likeness.faces.types import Box, BoxError
from likeness.wiki.titles import page_url
from webapp.access import current_user, member_required, require_writable
from webapp.api import api_error, json_body
from webapp.context import config, engine
from webapp.edit_reasons import reason
from webapp.rights import rights_json
from webapp.security import rate_limit
from webapp.serialize import iso

log = logging.getLogger(__name__)

bp = Blueprint("api_edits", __name__, url_prefix="/api/projects/<int:project_id>/edits")

SEND_OVERHEAD_SECONDS = 1.0     # reading the file's statements and writing, besides the pace
PAGE = 50
BATCH_RE = re.compile(r"^[0-9a-f]{12}$")
# The edit summaries link each batch to EditGroups (likeness.edits.sender.edit_summary).
EDITGROUPS_URL = "https://editgroups-commons.toolforge.org/b/CB/"


def can_send(project: Any, role: str) -> bool:
    return role == "owner" or bool(project.members_can_send)


def per_edit_seconds() -> float:
    """How long one edit takes at the polite pace (the worker waits ``pace_seconds``)."""
    return config().edits.pace_seconds + SEND_OVERHEAD_SECONDS


def estimate(edits: int) -> int:
    return math.ceil(edits * per_edit_seconds())


# --- JSON shapes --------------------------------------------------------------------------------

def file_url(title: str) -> str:
    return page_url(config().wiki.commons_wiki, title)


def diff_url(revision_id: int | None, title: str) -> str:
    """The revision this tool made, else the file's history."""
    wiki = config().wiki.commons_wiki
    if revision_id:
        return page_url(wiki, f"Special:Diff/{revision_id}")
    return file_url(title) + "?action=history"


def box_json(box: tuple[float, float, float, float] | None) -> dict[str, float] | None:
    if box is None:
        return None
    return dict(zip(("left", "top", "width", "height"), box, strict=True))


def region_box(region: str | None) -> dict[str, float] | None:
    try:
        return box_json(Box.from_iiif(region).as_tuple()) if region else None
    except BoxError:
        return None


def edit_json(edit: EditReport, project_id: int) -> dict[str, Any]:
    finished = edit.state in ("done", "skipped")
    return {
        "id": edit.id, "page_id": edit.page_id, "title": edit.title, "qid": edit.qid,
        "action": edit.action, "region": edit.region, "box": region_box(edit.region),
        "state": edit.state, "batch_id": edit.batch_id, "project_id": edit.project_id,
        "queued_here": edit.project_id == project_id, "sender": edit.sender,
        "statement_id": edit.statement_id, "revision_id": edit.revision_id,
        "file_url": file_url(edit.title),
        "diff_url": diff_url(edit.revision_id, edit.title) if finished else None,
        "thumb_url": edit.thumb_url, "thumb_width": edit.thumb_width,
        "thumb_height": edit.thumb_height,
        "error_code": edit.error_code, "error_message": edit.error_message,
        "reason": reason(edit.error_code, edit.error_message),
        "retryable": edit.retryable, "attempts": edit.attempts,
        "updated_at": iso(edit.updated_at),
    }


def preview_item_json(item: plan.PreviewItem) -> dict[str, Any]:
    return {"page_id": item.page_id, "title": item.title, "region": item.region,
            "box": box_json(item.box), "thumb_url": item.thumb_url,
            "thumb_width": item.thumb_width, "thumb_height": item.thumb_height,
            "file_url": file_url(item.title)}


def batch_json(batch: reports.Batch) -> dict[str, Any]:
    return {"batch_id": batch.batch_id, "sender": batch.sender,
            "last_change": iso(batch.last_change), "counts": batch.counts,
            "total": batch.total,
            "editgroups_url": EDITGROUPS_URL + batch.batch_id}


# --- parameters ---------------------------------------------------------------------------------

def _cursor() -> int | None:
    value = request.args.get("cursor")
    if value in (None, ""):
        return None
    if not value.isdigit() or len(value) > 12:
        api_error(400, "bad_cursor", "cursor must be the next_cursor of an earlier page")
    return int(value)


def _limit(default: int = PAGE) -> int:
    value = request.args.get("limit", str(default))
    if not value.isdigit() or not 1 <= int(value) <= reports.MAX_PAGE:
        api_error(400, "bad_limit", f"limit must be an integer from 1 to {reports.MAX_PAGE}")
    return int(value)


def _batch_id(value: object, name: str = "batch_id") -> str:
    if not isinstance(value, str) or not BATCH_RE.match(value):
        api_error(400, f"bad_{name}", f"{name} must be 12 hexadecimal digits")
    return value


def _require_sender() -> User:
    """The caller may send in this project and Commons lets them edit; else 403."""
    require_writable()
    if not can_send(g.project, g.role):
        api_error(403, "wrong_role", "Only the owner sends this project's edits; the owner can "
                                     "allow members to send them in the settings.")
    return _require_can_edit()


def _require_can_edit() -> User:
    user = current_user()
    rights = rights_json(current_rights(engine(), config(), user.id))
    if rights["state"] in ("blocked", "no_grant"):
        api_error(403, "cannot_edit", rights["message"])
    return user


# --- reading ------------------------------------------------------------------------------------

@bp.get("")
@member_required()
def summary(project_id: int) -> dict:
    """Counts, who may do what, what 'Send' would do and how long, and sending progress."""
    user = current_user()
    with engine().connect() as conn:
        counts = reports.counts(conn, project_id, g.project.qid)
        to_send = edit_rows.send_counts(conn, project_id, g.project.qid)
        now = reports.sending_now(conn, project_id, g.project.qid)
        ahead = reports.queued_ahead(conn, user.id, project_id)
    rights = rights_json(current_rights(engine(), config(), user.id))
    open_here = counts["pending"] + counts["sending"]
    return {
        "project": {"id": g.project.id, "qid": g.project.qid, "label": g.project.label},
        "counts": counts,
        "can_send": can_send(g.project, g.role),
        "can_undo": g.role == "owner",
        "rights": rights,
        "pace_seconds": config().edits.pace_seconds,
        "per_edit_seconds": per_edit_seconds(),
        "preview": {"count": to_send["new"], "already": to_send["already"],
                    "undone": to_send["undone"], "estimate_seconds": estimate(to_send["new"])},
        "sending": {"open": open_here, "ahead": ahead,
                    "estimate_seconds": estimate(open_here + ahead),
                    "now": edit_json(now, project_id) if now else None},
    }


@bp.get("/preview")
@member_required()
def preview(project_id: int) -> dict:
    """The statements 'Send' would write now, a page at a time (by page id)."""
    with engine().connect() as conn:
        whole = plan.preview(conn, project_id)
    items, cursor = whole.after(_cursor(), _limit())
    return {"count": whole.count, "items": [preview_item_json(i) for i in items],
            "next_cursor": str(cursor) if cursor is not None else None}


@bp.get("/list")
@member_required()
def edit_list(project_id: int) -> dict:
    """One group of the edits this project's faces back, a page at a time."""
    group = request.args.get("group", "written")
    if group not in reports.GROUPS:
        api_error(400, "bad_group", f"group must be one of {', '.join(reports.GROUPS)}")
    batch = request.args.get("batch_id")
    if batch is not None:
        _batch_id(batch)
    with engine().connect() as conn:
        rows, cursor = reports.page(conn, project_id, g.project.qid, group, after=_cursor(),
                                    limit=_limit(), batch_id=batch)
    return {"group": group, "edits": [edit_json(e, project_id) for e in rows],
            "next_cursor": str(cursor) if cursor is not None else None}


@bp.get("/batches")
@member_required()
def batch_list(project_id: int) -> dict:
    cursor = request.args.get("cursor") or None
    if cursor is not None and not reports.BATCH_CURSOR.match(cursor):
        api_error(400, "bad_cursor", "cursor must be the next_cursor of an earlier page")
    with engine().connect() as conn:
        rows, after = reports.batches(conn, project_id, before=cursor, limit=_limit(20))
    return {"batches": [batch_json(b) for b in rows], "next_cursor": after}


def _plan(conn: Any, project_id: int, batch_id: str) -> reports.UndoPlan:
    if not reports.batch_ids(conn, project_id, [batch_id]):
        api_error(404, "not_found", "No such batch in this project.")
    return reports.undo_plan(conn, project_id, batch_id)


def plan_json(undo: reports.UndoPlan, project_id: int) -> dict[str, Any]:
    return {"batch_id": undo.batch_id, "remove": undo.remove, "cancel": undo.cancel,
            "in_flight": undo.in_flight, "kept": undo.kept,
            "files": [edit_json(e, project_id) for e in undo.files],
            "more": max(undo.remove - len(undo.files), 0)}


@bp.get("/batches/<batch_id>/undo")
@member_required()
def undo_preview(project_id: int, batch_id: str) -> dict:
    """Exactly what undoing the batch would do; nothing changes."""
    _batch_id(batch_id)
    with engine().connect() as conn:
        return plan_json(_plan(conn, project_id, batch_id), project_id)


# --- acting -------------------------------------------------------------------------------------

@bp.post("/send")
@member_required()
@rate_limit("write")
def send(project_id: int) -> tuple[dict, int]:
    """Queue every statement the preview shows, written with the caller's account."""
    json_body()
    user = _require_sender()
    with engine().begin() as conn:
        batch, result = plan.queue_project(conn, project_id, user.id)
        ahead = reports.queued_ahead(conn, user.id, project_id)
    log.info("edits.queued", extra={"project": project_id, "user": user.id, "batch": batch,
                                    "queued": result.queued, "existing": result.existing})
    return {"batch_id": batch, "queued": result.queued, "existing": result.existing,
            "estimate_seconds": estimate(result.queued + ahead)}, 202


@bp.post("/cancel")
@member_required()
@rate_limit("write")
def cancel(project_id: int) -> dict:
    """Stop sending: queued edits no worker holds yet are cancelled (``batch_id``: one batch)."""
    body = json_body()
    require_writable()
    if not can_send(g.project, g.role):
        api_error(403, "wrong_role", "Only those who may send this project's edits may "
                                     "cancel them.")
    batch = body.get("batch_id")
    batch = None if batch is None else _batch_id(batch)
    with engine().begin() as conn:
        n = edit_rows.cancel_pending(conn, project_id, batch)
    log.info("edits.cancelled", extra={"project": project_id, "cancelled": n})
    return {"cancelled": n}


@bp.post("/retry")
@member_required()
@rate_limit("write")
def retry(project_id: int) -> dict:
    """The project's failed edits go back into the queue, sent with the caller's account."""
    json_body()
    user = _require_sender()
    batch = plan.new_batch_id()
    with engine().begin() as conn:
        n = edit_rows.retry_failed(conn, project_id, user.id, batch)
    return {"queued": n, "batch_id": batch if n else None}


@bp.post("/batches/<batch_id>/undo")
@member_required("owner")
@rate_limit("write")
def undo(project_id: int, batch_id: str) -> tuple[dict, int]:
    """Undo one batch: remove its statements (ours, unchanged since) and cancel its unsent
    edits. ``expect_remove`` and ``expect_cancel`` are the numbers the owner confirmed; if the
    batch changed since (an edit finished meanwhile), nothing happens and the new plan comes
    back with 409."""
    body = json_body()
    _batch_id(batch_id)
    require_writable()
    expected = (body.get("expect_remove"), body.get("expect_cancel"))
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in expected):
        api_error(400, "bad_expect", "expect_remove and expect_cancel must be the counts the "
                                     "undo preview showed")
    user = _require_can_edit()
    undo_batch = plan.new_batch_id()
    with engine().begin() as conn:
        now = _plan(conn, project_id, batch_id)
        if (now.remove, now.cancel) != expected:
            api_error(409, "plan_changed", f"The batch changed since you looked: now "
                                           f"{now.remove} statements to remove and "
                                           f"{now.cancel} edits to cancel. Look again.")
        removals = edit_rows.queue_undo(conn, project_id, user.id, undo_batch, undo_of=batch_id)
    log.info("edits.undo", extra={"project": project_id, "batch": batch_id,
                                  "removals": removals, "cancelled": now.cancel})
    return {"undo_batch_id": undo_batch, "removals": removals, "cancelled": now.cancel}, 202

