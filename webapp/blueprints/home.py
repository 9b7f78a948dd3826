"""The home page: the dashboard of own and joined projects for a logged-in user; otherwise what
Likeness is, and what to configure when login is not set up yet."""

from flask import Blueprint, render_template

from likeness.db import projects
from webapp.access import maybe_user, public
from webapp.context import config, engine

bp = Blueprint("home", __name__)


@bp.get("/")
@public
def index() -> str:
    user = maybe_user()
    summaries = []
    if user is not None:
        with engine().connect() as conn:
            summaries = projects.list_for_user(conn, user.id)
    return render_template("home.html", cfg=config(), user=user, summaries=summaries)
