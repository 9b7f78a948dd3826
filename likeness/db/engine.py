"""Engines for MariaDB (pymysql) and SQLite, configured the same way for web and worker."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from likeness.config import Config


def make_engine(cfg: Config) -> Engine:
    return engine_for_url(cfg.database_url, pool_size=cfg.database.pool_size,
                          pool_recycle=cfg.database.pool_recycle, echo=cfg.database.echo)


def engine_for_url(url: str, *, pool_size: int = 2, pool_recycle: int = 280,
                   echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo)
    return create_engine(
        url,
        echo=echo,
        # ToolsDB limits connections per tool: a small pool, no overflow beyond the budget
        # documented in the README; pre-ping and recycle survive server-side disconnects.
        pool_size=pool_size,
        max_overflow=1,
        pool_pre_ping=True,
        pool_recycle=pool_recycle,
        # Queue claims with SKIP LOCKED behave best without gap locks.
        isolation_level="READ COMMITTED",
        connect_args={"charset": "utf8mb4", "connect_timeout": 10},
    )


def _private_file(path: Path) -> None:
    """The database holds tokens and face encodings: only its owner may read it. SQLite gives
    its -wal and -shm files the database file's mode, so creating that one 0600 is enough; a
    file an older version created readable by others is tightened."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
            for sidecar in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                if sidecar.exists():
                    sidecar.chmod(mode & 0o700)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_engine(url: str, echo: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        _private_file(Path(database))
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # IMMEDIATE takes the write lock up front: a read-then-update (a work claim) can never
        # be interleaved with another writer, which is SQLite's equivalent of SKIP LOCKED.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
