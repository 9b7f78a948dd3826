"""Project pages: create, overview, settings (pause, resume, archive), delete, members, leave."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from likeness.db import images, members, projects, sources
from webapp.access import current_user, login_required, member_required
from webapp.blueprints import progress
from webapp.context import config, engine
from webapp.project_input import InputErrors, parse_settings, quota_message, start_project
from webapp.security import rate_limit

log = logging.getLogger(__name__)

bp = Blueprint("projects", __name__, url_prefix="/projects")

STATUS_ACTIONS = {"pause": "paused", "resume": "active", "archive": "archived",
                  "unarchive": "paused"}


def _new_page(form: object, errors: dict[str, str], **extra: object) -> str:
    return render_template("projects/new.html", form=form, errors=errors,
                           source_kinds=sources.KINDS, cap=config().sources.search_files,
                           **extra)


@bp.get("/new")
@login_required
def new() -> str:
    return _new_page(request.form, {})


@bp.post("/new")
@login_required
@rate_limit("write")
def create() -> ResponseReturnValue:
    user = current_user()
    try:
        project_id, prepared = start_project(config(), engine(), user.id, request.form,
                                             str(get_locale() or "en"))
    except InputErrors as exc:
        return _new_page(request.form, exc.errors, confirm_not_human=exc.confirm_not_human), 422
    except projects.QuotaExceeded as exc:
        return _new_page(request.form, {"quota": quota_message(exc.limit)}), 409
    log.info("project.created", extra={"project": project_id, "user": user.id})
    if "category_size_unknown" in prepared.warnings:
        flash(_("Commons did not say how big the category is; the worker will find out."),
              "info")
    flash(_("Project created. The worker starts looking for faces now."), "success")
    return redirect(url_for("projects.view", project_id=project_id))


@bp.get("/<int:project_id>")
@member_required()
def view(project_id: int) -> str:
    return render_template("projects/view.html", project=g.project, role=g.role,
                           snap=progress.snapshot(project_id), quotas=config().quotas)


@bp.get("/<int:project_id>/settings")
@member_required("owner")
def settings(project_id: int) -> str:
    return _settings_page(errors={})


def _settings_page(errors: dict[str, str]) -> str:
    """The settings form: the sources opted into, this site's limits and where the project
    stands against them."""
    with engine().connect() as conn:
        opted = sources.of_project(conn, g.project.id)
        usage = {"files": images.count(conn, g.project.id),
                 "projects": projects.count_owned(conn, g.project.owner_id)}
    return render_template("projects/settings.html", project=g.project, errors=errors,
                           sources={s.kind: s for s in opted}, source_kinds=sources.KINDS,
                           cap=config().sources.search_files, quotas=config().quotas,
                           usage=usage)


@bp.post("/<int:project_id>/settings")
@member_required("owner")
@rate_limit("write")
def save_settings(project_id: int) -> ResponseReturnValue:
    form: dict[str, str | list[str]] = {k: v for k, v in request.form.items()
                                        if k not in ("status", "sources")}
    form["sources"] = request.form.getlist("sources")
    try:
        values = parse_settings(form, checkboxes=True, max_depth=config().quotas.max_depth)
    except InputErrors as exc:
        return _settings_page(exc.errors), 422
    with engine().begin() as conn:
        projects.update_settings(conn, project_id, **values)
    flash(_("Settings saved."), "success")
    return redirect(url_for("projects.settings", project_id=project_id))


@bp.post("/<int:project_id>/status")
@member_required("owner")
def change_status(project_id: int) -> Response:
    status = STATUS_ACTIONS.get(request.form.get("action", ""))
    if status is None:
        abort(400, "Unknown action.")
    with engine().begin() as conn:
        projects.update_settings(conn, project_id, status=status)
    flash(_("Project status: %(status)s.", status=status), "success")
    return redirect(url_for("projects.settings", project_id=project_id))


@bp.post("/<int:project_id>/delete")
@member_required("owner")
def delete(project_id: int) -> Response:
    if request.form.get("confirm", "").strip().upper() != g.project.qid.upper():
        flash(_("Type the project's Q-id to confirm deletion."), "error")
        return redirect(url_for("projects.settings", project_id=project_id))
    with engine().begin() as conn:
        projects.delete_project(conn, project_id)
    log.info("project.deleted", extra={"project": project_id, "user": current_user().id})
    flash(_("The project and everything derived from it (faces, encodings, answers) "
            "were deleted."), "success")
    return redirect(url_for("home.index"))


@bp.get("/<int:project_id>/members")
@member_required()
def member_list(project_id: int) -> str:
    with engine().connect() as conn:
        people = members.list_members(conn, project_id)
    return render_template("projects/members.html", project=g.project, role=g.role,
                           members=people)


@bp.post("/<int:project_id>/members/<int:user_id>/remove")
@member_required("owner")
def remove_member(project_id: int, user_id: int) -> Response:
    with engine().begin() as conn:
        removed = members.remove(conn, project_id, user_id)
    flash(_("Member removed.") if removed else _("Nobody to remove."),
          "success" if removed else "error")
    return redirect(url_for("projects.member_list", project_id=project_id))


@bp.post("/<int:project_id>/leave")
@member_required()
def leave(project_id: int) -> Response:
    if g.role == "owner":
        flash(_("The owner cannot leave; delete the project instead."), "error")
        return redirect(url_for("projects.view", project_id=project_id))
    with engine().begin() as conn:
        members.remove(conn, project_id, current_user().id)
    flash(_("You left the project. Your answers stay and keep helping it."), "success")
    return redirect(url_for("home.index"))
