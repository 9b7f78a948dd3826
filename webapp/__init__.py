"""The Flask web app. gunicorn starts it with ``webapp:create_app()``."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from likeness.config import REPO_ROOT, Config, load_config
from likeness.logs import setup_logging
from webapp.context import init_context


def create_app(cfg: Config | None = None) -> Flask:
    """The app; without a config (as gunicorn calls it) it loads one and logs JSON lines."""
    if cfg is None:
        setup_logging()
        cfg = load_config()
    app = Flask(
        __name__,
        template_folder=str(REPO_ROOT / "templates"),
        static_folder=str(REPO_ROOT / "static"),
    )
    # Toolforge's front proxy terminates TLS and says so in X-Forwarded-Proto.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)  # type: ignore[method-assign]
    init_context(app, cfg)
    init_cross_cutting(app)
    register_blueprints(app, cfg)
    return app


def init_cross_cutting(app: Flask) -> None:
    from webapp.api import init_api
    from webapp.i18n import init_i18n
    from webapp.rights import init_rights
    from webapp.security import init_security
    from webapp.templating import init_templating

    init_api(app)
    init_security(app)
    init_i18n(app)
    init_templating(app)
    init_rights(app)


def register_blueprints(app: Flask, cfg: Config) -> None:
    from webapp import auth, i18n, openapi
    from webapp.blueprints import (
        account,
        admin,
        api_edits,
        api_faces,
        api_lookup,
        api_projects,
        edits,
        health,
        home,
        invites,
        label,
        leaderboard,
        progress,
        projects,
        review,
    )

    auth.register(app, cfg)  # Flask-Dance's Wikimedia blueprint depends on the config
    for module in (
        health, home, i18n, openapi,                # infrastructure
        projects, invites, leaderboard,             # projects and sharing
        api_projects, api_lookup,                   # their JSON API and wiki look-ups
        label, review, progress, api_faces,         # labelling
        edits, api_edits,                           # writing to Commons
        account, admin,                             # accounts and operations
    ):
        app.register_blueprint(module.bp)
