"""Reading invite options (expiry in days, number of uses) from forms and JSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from likeness.db.schema import utcnow
from webapp.project_input import InputErrors

MAX_DAYS = 365
MAX_USES = 10_000


def parse_invite_options(data: Mapping[str, Any]) -> tuple[dt.datetime | None, int | None]:
    errors = {}
    expires_at = uses = None
    days = data.get("expires_in_days")
    if days not in (None, ""):
        try:
            value = float(str(days))
            if not 0 < value <= MAX_DAYS:
                raise ValueError
            expires_at = utcnow() + dt.timedelta(days=value)
        except ValueError:
            errors["expires_in_days"] = _(
                "Expiry must be between 0 and %(days)d days, or empty.", days=MAX_DAYS)
    raw_uses = data.get("uses")
    if raw_uses not in (None, ""):
        try:
            uses = int(str(raw_uses))
            if not 1 <= uses <= MAX_USES:
                raise ValueError
        except ValueError:
            errors["uses"] = _("Uses must be a whole number from 1 to %(uses)d, or empty.",
                               uses=MAX_USES)
    if errors:
        raise InputErrors(errors)
    return expires_at, uses
