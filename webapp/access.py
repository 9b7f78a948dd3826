"""Who may call what. Every view is wrapped in exactly one of these decorators:

* ``@public``                 anyone, logged in or not;
* ``@login_required``         a logged-in user (HTML: redirect to /login?next=...; API: 401);
* ``@member_required()``      a member of the project in the ``project_id`` URL argument;
* ``@member_required("owner")`` its owner;
* ``@admin_required``         a user whose Wikimedia id is in ``app.admins`` (the status page).

The decorators record the rule on the view (``view.access``) and the authorization-matrix test
(tests/test_web_authz.py) requests every route in ``app.url_map`` as anonymous, non-member,
labeller and owner and checks the answers against that rule, so a new route without one of
these decorators fails the test.

``member_required`` loads ``g.project`` (likeness.db.projects.Project) and ``g.role``; a missing
project is a 404, a non-member or wrong role a 403; JSON errors under /api.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import abort, g, redirect, request, session, url_for

from likeness.db import members, projects
from likeness.db import users as users_db
from likeness.db.users import User
from webapp.api import api_error, is_api_request
from webapp.context import config, engine

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
LOGIN = "login"
MEMBER = "member"
OWNER = "owner"
ADMIN = "admin"


def _mark(view: Callable[..., Any], rule: str) -> None:
    view.access = rule  # type: ignore[attr-defined]


# Session keys of a login: local id, Wikimedia id, session generation, login time.
LOGIN_KEYS = ("uid", "wid", "gen", "at", "seen")


def login_session(user: User, now: float | None = None) -> dict[str, Any]:
    """What a session holds for a login (webapp.auth.session.log_in writes it)."""
    return {"uid": user.id, "wid": user.wiki_user_id, "gen": user.session_generation,
            "at": int(time.time() if now is None else now)}


def maybe_user() -> User | None:
    """The logged-in user, loaded once per request; None when anonymous.

    A session counts only while its user exists with the same Wikimedia id (a local id alone
    could name someone else), its generation is current (logout raises it, ending every
    session at once) and it is younger than ``app.session_days``, however often it was used.
    """
    if "user" not in g:
        uid = session.get("uid")
        user = None
        if isinstance(uid, int):
            with engine().connect() as conn:
                user = users_db.get(conn, uid)
            if user is None or not _session_is_current(user):
                user = None
                for key in LOGIN_KEYS:
                    session.pop(key, None)
            else:
                _note_activity(user)
        g.user = user
    return g.user


def current_user() -> User:
    """The logged-in user, for views behind ``login_required``, ``member_required`` or
    ``admin_required`` (which have checked that there is one). Called without a login it
    stops the request as those decorators would: a redirect to the login page, or a 401 under
    /api. Code that also serves anonymous visitors calls ``maybe_user`` instead."""
    user = maybe_user()
    if user is None:
        abort(_login_response())
    return user


def _session_is_current(user: User) -> bool:
    started = session.get("at")
    lifetime = config().app.session_days * 86400
    return (session.get("wid") == user.wiki_user_id
            and session.get("gen") == user.session_generation
            and isinstance(started, int) and 0 <= time.time() - started < lifetime)


def _note_activity(user: User) -> None:
    """Update users.last_seen_at at most once a day per session (one small write)."""
    today = dt.date.today().isoformat()
    if session.get("seen") != today:
        with engine().begin() as conn:
            users_db.touch_last_seen(conn, user.id)
        session["seen"] = today


def public(view: F) -> F:
    if not hasattr(view, "__dict__") or inspect.ismethod(view):
        view = _plain(view)  # bound methods (Flask-Dance views) cannot carry attributes
    _mark(view, PUBLIC)
    return view


def _plain(view: Callable[..., Any]) -> Any:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    return wrapper


def _login_response() -> Any:
    if is_api_request():
        api_error(401, "login_required", "Log in to use this.")
    target = request.full_path if request.query_string else request.path
    if request.method != "GET":
        target = request.referrer or "/"
    return redirect(url_for("auth.login") + "?" + urlencode({"next": target}))


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if maybe_user() is None:
            return _login_response()
        return view(*args, **kwargs)

    _mark(wrapper, LOGIN)
    return wrapper  # type: ignore[return-value]


def member_required(role: str | None = None) -> Callable[[F], F]:
    """Require membership of the project ``project_id`` (and ``role`` when given)."""
    if role not in (None, "owner", "labeller"):
        raise ValueError(f"unknown role {role!r}")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = maybe_user()
            if user is None:
                return _login_response()
            project_id = kwargs.get("project_id")
            with engine().connect() as conn:
                project = projects.get(conn, project_id) if project_id else None
                member_role = members.role_of(conn, project.id, user.id) if project else None
            if project is None:
                _deny(404, "not_found", "No such project.")
            if member_role is None:
                _deny(403, "not_member", "You are not a member of this project.")
            if role is not None and member_role != role:
                _deny(403, "wrong_role", f"Only the project's {role} may do this.")
            g.project = project
            g.role = member_role
            return view(*args, **kwargs)

        _mark(wrapper, OWNER if role == "owner" else MEMBER)
        return wrapper  # type: ignore[return-value]

    return decorate


def is_admin(user: User | None) -> bool:
    """Admins are listed by Wikimedia central id: a name can be renamed and taken by another."""
    return user is not None and user.wiki_user_id in config().app.admins


def admin_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = maybe_user()
        if user is None:
            return _login_response()
        if not is_admin(user):
            _deny(403, "not_admin", "Only the tool's administrators may see this.")
        return view(*args, **kwargs)

    _mark(wrapper, ADMIN)
    return wrapper  # type: ignore[return-value]


def require_writable() -> None:
    """Refuse changes to an archived project (call inside a member_required view)."""
    if g.project.status == "archived":
        _deny(409, "archived", "This project is archived; unarchive it first.")


def require_labelling() -> None:
    """Refuse answers in a project that is not active: archived, or paused by its owner
    (pausing stops labelling as well as the worker; resuming brings both back)."""
    require_writable()
    if g.project.status == "paused":
        _deny(409, "paused", "The owner paused this project; labelling resumes when the "
                             "owner resumes it.")


def _deny(status: int, code: str, message: str) -> None:
    if is_api_request():
        api_error(status, code, message)
    g.denied = code     # the error page says what to do about it (webapp.errors)
    abort(status, message)
