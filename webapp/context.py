"""What every request can reach: the config and the database engine, set up once per app."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import Engine

from likeness.config import Config
from likeness.db.engine import make_engine


def init_context(app: Flask, cfg: Config) -> None:
    app.config.update(
        SECRET_KEY=cfg.secret_key or _local_secret_key(Path(cfg.data_dir)),
        SESSION_COOKIE_SECURE=cfg.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=1_000_000,
        # The cookie's own expiry; webapp.access also refuses sessions older than this, since
        # the cookie's slides forward whenever the session changes.
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=cfg.app.session_days),
    )
    app.extensions["likeness.config"] = cfg
    app.extensions["likeness.engine"] = make_engine(cfg)


def config() -> Config:
    return current_app.extensions["likeness.config"]


def engine() -> Engine:
    return current_app.extensions["likeness.engine"]


def _local_secret_key(data_dir: Path) -> str:
    """A local run without secret_key gets a random one, kept private in data_dir."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
