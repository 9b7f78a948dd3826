"""HTML error pages (403, 404, 500 ...): the site's header, what happened in the reader's
language, and what to do next. /api paths get JSON errors instead (webapp.api).

``webapp.access`` notes why it refused (``g.denied``: not_member, wrong_role, not_admin,
archived), so a non-member is told to ask the owner for an invite rather than just "Forbidden".
The page must never fail itself: if rendering breaks (the database is down, say), a plain
page without the header is served.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import g, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from webapp.context import config

log = logging.getLogger(__name__)


def _texts(status: int, denied: str | None) -> tuple[str, str]:
    """Title and explanation for a status (and a refusal reason)."""
    if denied == "not_member":
        return (_("You are not a member of this project"),
                _("Projects are shared by invitation. Ask the project's owner for an invite "
                  "link or code; with it you can join the project here."))
    if denied == "wrong_role":
        return (_("Only the project's owner may do this"),
                _("Ask the owner if something needs changing."))
    if denied == "not_admin":
        return (_("Only the tool's administrators may see this page"), "")
    if denied == "archived":
        return (_("This project is archived"),
                _("Nothing can be changed in an archived project; its owner can unarchive it "
                  "in the project settings."))
    return {
        400: (_("The request could not be understood"),
              _("Something in the address or the form was not as expected.")),
        403: (_("You may not do this"), _("Your account does not have access to this page.")),
        404: (_("Page not found"),
              _("There is no such page or project: it may have been deleted, or the address "
                "is mistyped.")),
        405: (_("Not possible here"), _("This address does not accept that kind of request.")),
        409: (_("That cannot be done right now"), ""),
        413: (_("The request was too large"), ""),
        429: (_("Too many requests"), _("Wait a moment, then try again.")),
        500: (_("Something went wrong on our side"),
              _("The error was logged. Try again in a moment; if it keeps happening, write to "
                "%(contact)s.", contact=config().app.contact)),
        503: (_("The service is not available right now"), _("Try again in a moment.")),
    }.get(status, (_("Something went wrong"), ""))


def _back() -> str | None:
    """The page the reader came from, when it is one of ours (and not this one)."""
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc != request.host or parts.path == request.path:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def error_page(exc: HTTPException) -> tuple[str, int]:
    status = exc.code or 500
    denied = g.get("denied")
    title, text = _texts(status, denied)
    # An abort's own description adds detail for a 400/409; a 500's never leaves the server.
    detail = exc.description if status in (400, 409) and not denied else None
    try:
        project_id = (request.view_args or {}).get("project_id")
        return render_template("error.html", status=status, title=title, text=text,
                               detail=detail, denied=denied, back=_back(),
                               project_id=project_id if denied == "wrong_role" else None,
                               join_url=url_for("invites.join_form")), status
    except Exception:  # the page must not fail too (database down ...): a plain one
        log.exception("error_page.failed", extra={"status": status})
        return (f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>"
                f"<p>{escape(text)}</p><p><a href=\"/\">Likeness</a></p>", status)
