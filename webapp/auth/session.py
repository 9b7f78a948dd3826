"""What the session cookie holds: the login (user id, Wikimedia id, session generation, login
time; see webapp.access.maybe_user), the CSRF token, a language choice, and the post-login
target while the OAuth dance runs. Nothing else, so it stays far below 4 KB."""

from __future__ import annotations

from flask import g, session

from likeness.db import users as users_db
from likeness.db.users import User
from webapp.access import login_session, maybe_user
from webapp.context import engine
from webapp.security import safe_next

KEEP_ON_LOGIN = ("lang",)
# Keys: uid, wid, gen, at, csrf, lang, seen (date of the last activity update), next (during
# login only).


def log_in(user: User) -> None:
    """Start a fresh session for ``user`` (new CSRF token: no fixation across the login)."""
    _clear()
    session.update(login_session(user))
    session.permanent = True
    g.user = user


def log_out() -> None:
    """End this session and, on the server, every other session of the same user: a cookie
    copied before the logout is refused from now on."""
    user = maybe_user()
    if user is not None:
        with engine().begin() as conn:
            users_db.end_sessions(conn, user.id)
    _clear()
    g.user = None


def _clear() -> None:
    kept = {key: session[key] for key in KEEP_ON_LOGIN if key in session}
    session.clear()
    session.update(kept)


def remember_next(target: str | None) -> None:
    session["next"] = safe_next(target)


def pop_next() -> str:
    return safe_next(session.pop("next", None))
