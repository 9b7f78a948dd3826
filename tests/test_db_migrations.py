"""Migrations upgrade and downgrade on the test run's database, and match likeness/db/schema.py."""

import re

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, func, inspect, select

from likeness.db.engine import engine_for_url
from likeness.db.migrate import downgrade, upgrade
from likeness.db.schema import decisions, metadata, users, utcnow
from tests import factories
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


ID_TABLES = [name for name, table in metadata.tables.items()
             if [c.name for c in table.primary_key.columns] == ["id"]
             and table.c.id.type.python_type is int]


def _create_table_sql(conn, table: str) -> str:
    if conn.dialect.name == "sqlite":
        return conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
    ddl = conn.exec_driver_sql(f"SHOW CREATE TABLE `{table}`").one()[1]
    return re.sub(r" AUTO_INCREMENT=\d+", "", ddl)  # the counter, not the definition


def test_every_table_with_an_id_is_autoincrement_on_sqlite(session_engine):
    assert {"users", "projects", "faces", "decisions", "edits"} <= set(ID_TABLES)
    assert all(metadata.tables[name].dialect_options["sqlite"]["autoincrement"]
               for name in ID_TABLES)
    if session_engine.dialect.name != "sqlite":
        return
    with session_engine.connect() as conn:
        plain = [t for t in ID_TABLES if "AUTOINCREMENT" not in _create_table_sql(conn, t)]
    assert plain == []


def test_ids_of_deleted_rows_are_never_reused(engine):
    with engine.begin() as conn:
        first = factories.user(conn)
        last = factories.user(conn)
        project = factories.project(conn, last)
        conn.execute(delete(users).where(users.c.id == last))  # cascades to the project
    with engine.begin() as conn:
        newcomer = factories.user(conn)
        new_project = factories.project(conn, newcomer)
    assert first < last < newcomer
    assert new_project > project


def _face_at_0003(conn, project_id: int, image_id: int) -> int:
    """A face row as revision 0003 knew them (factories.face writes today's schema)."""
    old = sa.table("faces", *(sa.column(c) for c in (
        "project_id", "image_id", "box_left", "box_top", "box_width", "box_height", "source",
        "state", "created_at")))
    return conn.execute(sa.insert(old).values(
        project_id=project_id, image_id=image_id, box_left=0.1, box_top=0.1, box_width=0.2,
        box_height=0.2, source="detector", state="active", created_at=utcnow())).lastrowid


def test_upgrade_to_0004_keeps_rows_and_keys_and_stops_id_reuse(tmp_path_factory):
    url = create_database_url(tmp_path_factory, "ids")
    engine = engine_for_url(url)
    try:
        upgrade(url, "0003")
        with engine.begin() as conn:
            owner, other = factories.user(conn, "Owner"), factories.user(conn, "Other")
            project = factories.project(conn, owner)
            face = _face_at_0003(conn, project, factories.image(conn, project))
            factories.decision(conn, face, project, other)
            before = {t: _create_table_sql(conn, t) for t in ("projects", "faces")}
        upgrade(url, "0004")
        with engine.begin() as conn:
            after = {t: _create_table_sql(conn, t) for t in ("projects", "faces")}
            assert conn.execute(select(func.count()).select_from(decisions)).scalar() == 1
            assert conn.execute(select(users.c.session_generation)
                                .where(users.c.id == owner)).scalar() == 0
            # Foreign keys still cascade after SQLite's table copies.
            conn.execute(delete(users).where(users.c.id == other))
            assert conn.execute(select(func.count()).select_from(decisions)).scalar() == 0
        with engine.begin() as conn:
            newcomer = factories.user(conn)
        assert newcomer > other
        if engine.dialect.name == "sqlite":
            assert all("AUTOINCREMENT" in sql for sql in after.values())
        else:
            assert after == before  # AUTO_INCREMENT never reuses ids: nothing to change
    finally:
        engine.dispose()
