"""Helpers every template may call. Autoescaping is on for all .html templates, so text from
the wikis (labels, descriptions, category names) is always escaped; never mark it ``|safe``."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from webapp.access import is_admin, maybe_user
from webapp.context import config

STATUS_NAMES = {"active": _l("active"), "paused": _l("paused"), "archived": _l("archived")}


def endpoint_url(endpoint: str, **values: Any) -> str | None:
    """url_for, or None when that endpoint is not registered (another area not installed)."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def init_templating(app: Flask) -> None:
    app.jinja_env.globals.update(
        current_user=maybe_user,  # None for anonymous visitors
        config_login_available=lambda: config().login_available,
        config_quotas=lambda: config().quotas,
        is_admin=is_admin,
        current_locale=lambda: str(get_locale() or "en"),
        status_name=lambda status: str(STATUS_NAMES.get(status, status)),
        endpoint_url=endpoint_url,
    )
