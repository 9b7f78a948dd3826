"""The one place that builds the User-Agent sent with every request to Wikimedia."""

from __future__ import annotations

import platform

import requests

from likeness.config import Config


def user_agent(cfg: Config) -> str:
    """``Likeness/0.1.0 (https://likeness.toolforge.org/; tools.likeness@toolforge.org) ...``

    Wikimedia's policy asks for the tool's name, a URL and a contact, see
    https://meta.wikimedia.org/wiki/User-Agent_policy.
    """
    app = cfg.app
    return (
        f"{app.name}/{app.version} ({app.url}; {app.contact}) "
        f"python-requests/{requests.__version__} Python/{platform.python_version()}"
    )
