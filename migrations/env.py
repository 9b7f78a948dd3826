"""Alembic environment: the URL comes from our one config loader unless the caller set one."""

from alembic import context

from likeness.config import load_config
from likeness.db.engine import engine_for_url
from likeness.db.schema import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url") or load_config().database_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_for_url(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    # Batch mode lets ALTERs work on SQLite too (table copy), so one migration fits both.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      compare_type=True)
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A table copy drops the old table; with foreign keys on, that DROP deletes (cascades
        # to) every referencing row, e.g. the decisions of rebuilt faces. The pragma only works
        # outside a transaction, so it is set on the driver connection before ours begins.
        _sqlite_pragma(connection, "PRAGMA foreign_keys=OFF")
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
    finally:
        if sqlite:
            _sqlite_pragma(connection, "PRAGMA foreign_keys=ON")


def _sqlite_pragma(connection, pragma: str) -> None:
    connection.connection.driver_connection.execute(pragma)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
