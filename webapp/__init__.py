"""The Flask web app. gunicorn starts it with ``webapp:create_app()``."""

from __future__ import annotations

from flask import Flask

from likeness.config import REPO_ROOT, Config, load_config
from webapp.context import init_context


def create_app(cfg: Config | None = None) -> Flask:
    cfg = cfg or load_config()
    app = Flask(
        __name__,
        template_folder=str(REPO_ROOT / "templates"),
        static_folder=str(REPO_ROOT / "static"),
    )
    init_context(app, cfg)
    register_blueprints(app)
    return app


def register_blueprints(app: Flask) -> None:
    from webapp.blueprints import health, home

    app.register_blueprint(health.bp)
    app.register_blueprint(home.bp)
