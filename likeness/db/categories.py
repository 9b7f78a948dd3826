"""A project's category tree as crawled, so that re-crawls ask only for what is new.

Each row remembers when its file listing last started (``last_crawled_at``); the next listing
of that category asks Commons only for members added since then (``cmsort=timestamp``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from likeness.db.schema import inserted_id, project_categories


@dataclass(frozen=True)
class CategoryState:
    id: int
    title: str
    depth: int
    last_crawled_at: dt.datetime | None


def ensure(conn: Connection, project_id: int, title: str, depth: int) -> CategoryState:
    """The row of ``title`` in the project's tree (created if new), with its depth updated."""
    where = (project_categories.c.project_id == project_id,
             project_categories.c.title == title[:255])
    row = conn.execute(select(project_categories).where(*where)).first()
    if row is None:
        try:
            with conn.begin_nested():
                new_id = inserted_id(conn.execute(insert(project_categories).values(
                    project_id=project_id, title=title[:255], depth=depth)
                ))
            return CategoryState(new_id, title, depth, None)
        except IntegrityError:  # created meanwhile by someone else
            row = conn.execute(select(project_categories).where(*where)).one()
    if row.depth != depth:
        conn.execute(update(project_categories).where(project_categories.c.id == row.id)
                     .values(depth=depth))
    return CategoryState(row.id, row.title, depth, row.last_crawled_at)


def mark_listed(conn: Connection, category_id: int, started_at: dt.datetime) -> None:
    """The category's files were listed completely, as of ``started_at``."""
    conn.execute(update(project_categories).where(project_categories.c.id == category_id)
                 .values(last_crawled_at=started_at))


def tree(conn: Connection, project_id: int) -> list[CategoryState]:
    """The project's categories, shallowest first (project page, tests)."""
    return [CategoryState(r.id, r.title, r.depth, r.last_crawled_at) for r in conn.execute(
        select(project_categories).where(project_categories.c.project_id == project_id)
        .order_by(project_categories.c.depth, project_categories.c.title))]
