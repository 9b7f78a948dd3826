"""Review: a grid of model proposals, least certain first. Click a face to reject it, then approve
the page (key A): one POST records an approve or reject decision for every face shown.
Only faces a person confirmed or approved ever become edits (likeness.db.review)."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request, url_for

from likeness.db import decisions, review
from likeness.db.progress import threshold
from webapp import rights
from webapp.access import current_user, member_required, require_labelling
from webapp.api import api_error, client_token, id_list, json_body
from webapp.context import engine
from webapp.security import rate_limit

bp = Blueprint("review", __name__)


@bp.get("/projects/<int:project_id>/review")
@member_required()
def grid(project_id: int) -> str:
    rights.refresh()   # a blocked account, or one that may not edit, is told before reviewing
    urls = {"page": url_for("review.api_page", project_id=project_id),
            "submit": url_for("review.api_submit", project_id=project_id)}
    return render_template("review/grid.html", project=g.project, role=g.role, urls=urls,
                           sources=review.SOURCES, edit_states=review.EDIT_STATES,
                           page_size=review.PAGE_SIZE)


@bp.get("/api/projects/<int:project_id>/review")
@member_required()
def api_page(project_id: int) -> dict:
    source = request.args.get("source", "model")
    edit_state = request.args.get("edit_state", "any")
    if source not in review.SOURCES:
        api_error(400, "bad_source", f"source must be one of {', '.join(review.SOURCES)}")
    if edit_state not in review.EDIT_STATES:
        api_error(400, "bad_edit_state",
                  f"edit_state must be one of {', '.join(review.EDIT_STATES)}")
    offset = request.args.get("offset", "0")
    if not offset.isdigit() or int(offset) > 10_000_000:
        api_error(400, "bad_offset", "offset must be a non-negative integer")
    with engine().connect() as conn:
        faces = review.grid(conn, project_id, source=source, edit_state=edit_state,
                            offset=int(offset))
        cut = threshold(conn, project_id)
    return {"faces": [f.as_json() for f in faces], "threshold": cut,
            "source": source, "edit_state": edit_state, "offset": int(offset)}


@bp.post("/api/projects/<int:project_id>/review")
@member_required()
@rate_limit("label")
def api_submit(project_id: int) -> dict:
    """Approve and reject the faces of one page at once (idempotent per ``token``)."""
    require_labelling()
    body = json_body()
    approve = id_list(body.get("approve", []), "approve", 100)
    reject = id_list(body.get("reject", []), "reject", 100)
    token = client_token(body)
    if not token or len(token) > 40:
        api_error(400, "bad_token", "token must be 1-40 characters")
    try:
        with engine().begin() as conn:
            counts = review.submit_page(conn, project_id, current_user().id,
                                        approve=approve, reject=reject, client_token=token)
    except decisions.DecisionError as exc:
        api_error(404 if exc.code == "no_face" else 400, exc.code, str(exc))
    return counts
