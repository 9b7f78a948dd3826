"""Migrations upgrade and downgrade on the test run's database, and match likeness/db/schema.py."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from likeness.db.engine import engine_for_url
from likeness.db.migrate import downgrade, upgrade
from likeness.db.schema import metadata
from tests.fixtures.db import create_database_url


def test_upgrade_downgrade_upgrade(tmp_path_factory):
    url = create_database_url(tmp_path_factory, "migrate")
    engine = engine_for_url(url)
    try:
        upgrade(url)
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(url)
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_create_exactly_the_schema(session_engine):
    with session_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_columns_and_tables_carry_comments(session_engine):
    if session_engine.dialect.name == "sqlite":
        # SQLite has no column comments; the MariaDB run checks them.
        tables = metadata.tables.values()
        assert all(t.comment for t in tables)
        assert all(c.comment for t in tables for c in t.columns)
        return
    insp = inspect(session_engine)
    for name in metadata.tables:
        assert insp.get_table_comment(name)["text"], name
        for column in insp.get_columns(name):
            assert column.get("comment"), f"{name}.{column['name']}"
