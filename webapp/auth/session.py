"""What the session cookie holds: the user id, the CSRF token, a language choice, and the
post-login target while the OAuth dance runs. Nothing else, so it stays far below 4 KB."""

from __future__ import annotations

from flask import g, session

from likeness.db.users import User
from webapp.security import CSRF_SESSION_KEY, safe_next

KEEP_ON_LOGIN = ("lang",)
# Keys: uid, csrf, lang, seen (date of the last activity update), next (during login only).


def log_in(user: User) -> None:
    """Start a fresh session for ``user`` (new CSRF token: no fixation across the login)."""
    kept = {key: session[key] for key in KEEP_ON_LOGIN if key in session}
    session.clear()
    session.update(kept)
    session["uid"] = user.id
    session.permanent = True
    session.pop(CSRF_SESSION_KEY, None)
    g.user = user


def log_out() -> None:
    kept = {key: session[key] for key in KEEP_ON_LOGIN if key in session}
    session.clear()
    session.update(kept)
    g.user = None


def remember_next(target: str | None) -> None:
    session["next"] = safe_next(target)


def pop_next() -> str:
    return safe_next(session.pop("next", None))
