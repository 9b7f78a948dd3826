"""Leaderboards: faces answered per person, per project (members) and overall (public)."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from likeness.db.leaderboard import leaderboard
from webapp.access import maybe_user, member_required, public
from webapp.context import engine

bp = Blueprint("leaderboard", __name__)


@bp.get("/leaderboard")
@public
def overall() -> str:
    user = maybe_user()
    with engine().connect() as conn:
        entries = leaderboard(conn, viewer_id=user.id if user else None)
    return render_template("leaderboard.html", project=None, entries=entries)


@bp.get("/projects/<int:project_id>/leaderboard")
@member_required()
def project(project_id: int) -> str:
    with engine().connect() as conn:
        entries = leaderboard(conn, project_id)
    return render_template("leaderboard.html", project=g.project, entries=entries)
