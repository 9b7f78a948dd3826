"""A user's own account: what is stored about them, and deleting it with their decisions."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

from likeness.db import accounts
from webapp.access import current_user, login_required
from webapp.auth.session import log_out
from webapp.context import engine

bp = Blueprint("account", __name__)


@bp.get("/account")
@login_required
def page() -> str:
    return render_template("account/index.html", user=current_user())


@bp.post("/account/delete")
@login_required
def delete() -> Response:
    with engine().begin() as conn:
        accounts.delete_account(conn, current_user().id)
    log_out()
    return redirect(url_for("home.index"))
