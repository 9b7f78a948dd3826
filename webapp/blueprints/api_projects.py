"""JSON API for projects, members, invites, joining and leaderboards (see openapi/projects.yaml)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, g, jsonify
from flask_babel import get_locale

from likeness.db import images, invites, members, projects, sources
from likeness.db.leaderboard import leaderboard
from webapp.access import current_user, login_required, maybe_user, member_required, public
from webapp.api import api_error, json_body
from webapp.blueprints.invites import REASONS, join_url
from webapp.context import config, engine
from webapp.invite_input import parse_invite_options
from webapp.project_input import InputErrors, parse_settings, quota_message, start_project
from webapp.security import rate_limit
from webapp.serialize import (
    entry_json,
    invite_json,
    member_json,
    project_json,
    source_json,
    summary_json,
)

log = logging.getLogger(__name__)

bp = Blueprint("api_projects", __name__, url_prefix="/api")


def _invalid(exc: InputErrors) -> Any:
    response = jsonify({"error": {"code": "invalid", "message": str(exc),
                                  "fields": exc.errors}})
    response.status_code = 422
    return response


@bp.get("/me")
@public
def me() -> Any:
    user = maybe_user()
    if user is None:
        return jsonify({"user": None, "login_available": config().login_available})
    return jsonify({"user": {"id": user.id, "username": user.username},
                    "login_available": True})


@bp.get("/projects")
@login_required
def list_projects() -> Any:
    with engine().connect() as conn:
        rows = projects.list_for_user(conn, current_user().id)
    return jsonify({"projects": [summary_json(s) for s in rows]})


@bp.post("/projects")
@login_required
@rate_limit("write")
def create_project() -> Any:
    data = json_body()
    user = current_user()
    try:
        project_id, prepared = start_project(config(), engine(), user.id, data,
                                             str(get_locale() or "en"))
    except InputErrors as exc:
        return _invalid(exc)
    except projects.QuotaExceeded as exc:
        api_error(409, "quota_exceeded", quota_message(exc.limit))
    with engine().connect() as conn:
        body = {"project": _project(conn, project_id, "owner"), "warnings": prepared.warnings}
    log.info("project.created", extra={"project": project_id, "user": user.id})
    return jsonify(body), 201


def _project(conn: Any, project_id: int, role: str) -> dict[str, Any]:
    """A project with the sources it opted into (and what their last listing found)."""
    project = projects.get(conn, project_id)
    assert project is not None
    return {**project_json(project, role),
            "sources": [source_json(s) for s in sources.of_project(conn, project_id)]}


@bp.get("/projects/<int:project_id>")
@member_required()
def get_project(project_id: int) -> Any:
    with engine().connect() as conn:
        body: dict[str, Any] = {"project": _project(conn, project_id, g.role)}
        if g.role == "owner":
            quotas = config().quotas
            body["limits"] = {"files_per_project": quotas.files_per_project,
                              "files": images.count(conn, project_id),
                              "max_depth": quotas.max_depth,
                              "projects_per_user": quotas.projects_per_user}
    return jsonify(body)


@bp.patch("/projects/<int:project_id>")
@member_required("owner")
@rate_limit("write")
def update_project(project_id: int) -> Any:
    try:
        values = parse_settings(json_body(), checkboxes=False,
                                max_depth=config().quotas.max_depth)
    except InputErrors as exc:
        return _invalid(exc)
    with engine().begin() as conn:
        projects.update_settings(conn, project_id, **values)
        return jsonify({"project": _project(conn, project_id, g.role)})


@bp.delete("/projects/<int:project_id>")
@member_required("owner")
def delete_project(project_id: int) -> Any:
    with engine().begin() as conn:
        projects.delete_project(conn, project_id)
    log.info("project.deleted", extra={"project": project_id, "user": current_user().id})
    return "", 204


@bp.get("/projects/<int:project_id>/members")
@member_required()
def list_members(project_id: int) -> Any:
    with engine().connect() as conn:
        rows = members.list_members(conn, project_id)
    return jsonify({"members": [member_json(m) for m in rows]})


@bp.delete("/projects/<int:project_id>/members/<int:user_id>")
@member_required("owner")
def remove_member(project_id: int, user_id: int) -> Any:
    with engine().begin() as conn:
        if not members.remove(conn, project_id, user_id):
            api_error(404, "not_found", "No such labeller in this project.")
    return "", 204


@bp.post("/projects/<int:project_id>/leave")
@member_required()
def leave(project_id: int) -> Any:
    if g.role == "owner":
        api_error(409, "owner_cannot_leave", "The owner cannot leave; delete the project.")
    with engine().begin() as conn:
        members.remove(conn, project_id, current_user().id)
    return "", 204


@bp.get("/projects/<int:project_id>/invites")
@member_required("owner")
def list_invites(project_id: int) -> Any:
    with engine().connect() as conn:
        rows = invites.list_for_project(conn, project_id)
    return jsonify({"invites": [invite_json(i) for i in rows]})


@bp.post("/projects/<int:project_id>/invites")
@member_required("owner")
@rate_limit("write")
def create_invite(project_id: int) -> Any:
    try:
        expires_at, uses = parse_invite_options(json_body())
    except InputErrors as exc:
        return _invalid(exc)
    with engine().begin() as conn:
        code, invite = invites.create(conn, project_id, current_user().id,
                                      expires_at=expires_at, uses=uses)
    return jsonify({"invite": invite_json(invite), "code": code, "link": join_url(code)}), 201


@bp.delete("/projects/<int:project_id>/invites/<int:invite_id>")
@member_required("owner")
def revoke_invite(project_id: int, invite_id: int) -> Any:
    with engine().begin() as conn:
        if not invites.revoke(conn, project_id, invite_id):
            api_error(404, "not_found", "No such active invite in this project.")
    return "", 204


@bp.post("/join")
@login_required
@rate_limit("join")
def join() -> Any:
    code = json_body().get("code")
    if not isinstance(code, str) or not code.strip():
        api_error(400, "bad_request", "Send {\"code\": \"...\"}.")
    user = current_user()
    try:
        with engine().begin() as conn:
            joined = invites.redeem(conn, code.strip(), user.id)
    except invites.InviteError as exc:
        status = 404 if exc.reason == "unknown" else 410
        api_error(status, f"invite_{exc.reason}", str(REASONS[exc.reason]))
    return jsonify({"project_id": joined.project_id, "joined": joined.new_member})


@bp.get("/projects/<int:project_id>/leaderboard")
@member_required()
def project_leaderboard(project_id: int) -> Any:
    with engine().connect() as conn:
        entries = leaderboard(conn, project_id)
    return jsonify({"leaderboard": [entry_json(e) for e in entries]})


@bp.get("/leaderboard")
@public
def overall_leaderboard() -> Any:
    user = maybe_user()
    with engine().connect() as conn:
        entries = leaderboard(conn, viewer_id=user.id if user else None)
    return jsonify({"leaderboard": [entry_json(e) for e in entries]})
