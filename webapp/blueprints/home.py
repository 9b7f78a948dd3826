"""The home page: what Likeness is, and what to configure when login is not set up yet."""

from flask import Blueprint, render_template

from webapp.context import config

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    return render_template("home.html", cfg=config())
