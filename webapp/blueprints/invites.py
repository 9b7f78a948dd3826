"""Sharing: the owner makes invite codes and shares a link; logged-in people join with it."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from likeness.db import invites, projects
from webapp.access import current_user, login_required, member_required
from webapp.context import engine
from webapp.invite_input import parse_invite_options
from webapp.project_input import InputErrors
from webapp.security import check_rate, rate_limit

log = logging.getLogger(__name__)

bp = Blueprint("invites", __name__)

REASONS = {
    "unknown": _l("This invite code is not valid."),
    "expired": _l("This invite code has expired."),
    "used_up": _l("This invite code has been used up."),
    "revoked": _l("This invite code was revoked by the project owner."),
}


def join_url(code: str) -> str:
    return url_for("invites.join_link", code=code, _external=True)


@bp.get("/projects/<int:project_id>/invites")
@member_required("owner")
def manage(project_id: int) -> str:
    with engine().connect() as conn:
        rows = invites.list_for_project(conn, project_id)
    return render_template("invites/manage.html", project=g.project, invites=rows,
                           new_link=None, errors={})


@bp.post("/projects/<int:project_id>/invites")
@member_required("owner")
@rate_limit("write")
def create(project_id: int) -> ResponseReturnValue:
    try:
        expires_at, uses = parse_invite_options(request.form)
    except InputErrors as exc:
        with engine().connect() as conn:
            rows = invites.list_for_project(conn, project_id)
        return render_template("invites/manage.html", project=g.project, invites=rows,
                               new_link=None, errors=exc.errors), 422
    with engine().begin() as conn:
        code, _invite = invites.create(conn, project_id, current_user().id,
                                       expires_at=expires_at, uses=uses)
        rows = invites.list_for_project(conn, project_id)
    # Shown once, in this response only: the code itself is never stored.
    return render_template("invites/manage.html", project=g.project, invites=rows,
                           new_link=join_url(code), errors={})


@bp.post("/projects/<int:project_id>/invites/<int:invite_id>/revoke")
@member_required("owner")
def revoke(project_id: int, invite_id: int) -> Response:
    with engine().begin() as conn:
        done = invites.revoke(conn, project_id, invite_id)
    flash(_("Invite revoked.") if done else _("That invite was already revoked."),
          "success" if done else "error")
    return redirect(url_for("invites.manage", project_id=project_id))


@bp.get("/join")
@login_required
def join_form() -> str:
    return render_template("invites/join.html", code="", project=None, error=None)


@bp.get("/join/<code>")
@login_required
def join_link(code: str) -> ResponseReturnValue:
    """The shared link: show which project the code opens, and a button to join."""
    check_rate("join")
    with engine().connect() as conn:
        invite = invites.find(conn, code)
        project = projects.get(conn, invite.project_id) if invite else None
    if invite is None or project is None or invite.state() != "active":
        reason = invite.state() if invite else "unknown"
        return render_template("invites/join.html", code="", project=None,
                               error=str(REASONS[reason])), 404
    return render_template("invites/join.html", code=code, project=project, error=None)


@bp.post("/join")
@login_required
@rate_limit("join")
def join() -> ResponseReturnValue:
    code = request.form.get("code", "").strip()
    if "/join/" in code:  # a pasted link
        code = code.rsplit("/join/", 1)[1].split("?")[0].strip("/")
    user = current_user()
    try:
        with engine().begin() as conn:
            joined = invites.redeem(conn, code, user.id)
    except invites.InviteError as exc:
        log.info("invite.refused", extra={"user": user.id, "reason": exc.reason})
        return render_template("invites/join.html", code="", project=None,
                               error=str(REASONS[exc.reason])), 404 if exc.reason == "unknown" \
            else 410
    if joined.new_member:
        log.info("invite.joined", extra={"user": user.id, "project": joined.project_id})
        flash(_("Welcome! You joined the project as a labeller."), "success")
    return redirect(url_for("projects.view", project_id=joined.project_id))
