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
    from webapp.security import init_security
    from webapp.templating import init_templating

    init_api(app)
    init_security(app)
    init_i18n(app)
    init_templating(app)


def register_blueprints(app: Flask, cfg: Config) -> None:
    from webapp import auth, i18n, openapi
    from webapp.blueprints import (
        api_lookup,
        api_projects,
        health,
        home,
        invites,
        leaderboard,
        projects,
    )

    app.register_blueprint(health.bp)
    app.register_blueprint(home.bp)
    auth.register(app, cfg)
    app.register_blueprint(i18n.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(projects.bp)
    app.register_blueprint(invites.bp)
    app.register_blueprint(leaderboard.bp)
    app.register_blueprint(api_projects.bp)
    app.register_blueprint(api_lookup.bp)
    from webapp.blueprints import label, progress, review  # labelling (issue 6)
    app.register_blueprint(label.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(progress.bp)
    from webapp.blueprints import edits  # edits to Commons (issue 8)
    app.register_blueprint(edits.bp)
    from webapp.blueprints import account, admin  # operations (issue 9)
    app.register_blueprint(account.bp)
    app.register_blueprint(admin.bp)
