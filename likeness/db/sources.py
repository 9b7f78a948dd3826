"""Candidate sources beyond a project's category, each opted into by the owner.

``commons_category``: the item's Commons category (P373) and its subcategories, to the
project's depth; ``search``: files whose title, description or caption mentions the item's
label in any of its languages (CirrusSearch, bitmaps only); ``related``: files already
depicting an item the person is related to (events they took part in, P1344/P793). Every
source is listed again at each re-crawl (search sources newest first), always within a cap
(``sources.search_files`` files per source), and what the last listing found is kept here for
the project page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update

from likeness.db.schema import project_sources, utcnow

KINDS = ("commons_category", "search", "related")


@dataclass(frozen=True)
class Source:
    kind: str
    added_at: dt.datetime
    last_run_at: dt.datetime | None
    last_listed: int | None
    last_new: int | None
    capped: bool


def of_project(conn: Connection, project_id: int) -> list[Source]:
    rows = conn.execute(select(project_sources).where(
        project_sources.c.project_id == project_id))
    by_kind = {r.kind: Source(r.kind, r.added_at, r.last_run_at, r.last_listed, r.last_new,
                              bool(r.capped)) for r in rows}
    return [by_kind[kind] for kind in KINDS if kind in by_kind]


def set_sources(conn: Connection, project_id: int, kinds: Iterable[str]) -> set[str]:
    """Opt the project into exactly these sources; returns the ones newly added."""
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown source {', '.join(sorted(unknown))}")
    have = {s.kind for s in of_project(conn, project_id)}
    gone = have - wanted
    if gone:
        conn.execute(delete(project_sources).where(project_sources.c.project_id == project_id,
                                                   project_sources.c.kind.in_(sorted(gone))))
    added = wanted - have
    for kind in sorted(added):
        conn.execute(insert(project_sources).values(project_id=project_id, kind=kind,
                                                    added_at=utcnow(), capped=False))
    return added


def record_run(conn: Connection, project_id: int, kind: str, started: dt.datetime,
               listed: int, new: int, capped: bool) -> None:
    conn.execute(update(project_sources).where(project_sources.c.project_id == project_id,
                                               project_sources.c.kind == kind)
                 .values(last_run_at=started, last_listed=listed, last_new=new,
                         capped=capped))
