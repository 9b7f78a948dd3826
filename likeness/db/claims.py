"""Leased work claims shared by every queue (images, jobs, edits).

A claim is a tiny transaction: pick ready rows nobody holds (or whose lease expired), stamp them
with our worker id and a lease, commit. On MariaDB ``FOR UPDATE SKIP LOCKED`` lets many workers
claim at once without waiting on each other; on SQLite every transaction begins IMMEDIATE (see
engine.py), so the select and the update can never interleave with another writer.
A worker renews its leases while it works (each renewal also counts as its heartbeat). A claim
is free when its lease ran out, or as soon as its holder is dead (``likeness.db.workers.dead``:
stopped, or its heartbeat is stale), so a killed worker's work moves on within the staleness
window rather than after a whole lease. ``free`` is that rule, for every leased table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, Table, and_, false, or_, select, update
from sqlalchemy.sql import ColumnElement

from likeness.db import workers
from likeness.db.schema import utcnow


def free(conn: Connection, table: Table, now: dt.datetime) -> ColumnElement[bool]:
    """Rows of ``table`` nobody holds: no lease, an expired one, or a dead holder's."""
    dead = workers.dead(conn, now)
    return or_(table.c.lease_until.is_(None), table.c.lease_until < now,
               table.c.lease_owner.in_(dead) if dead else false())


def claim(
    conn: Connection,
    table: Table,
    ready: ColumnElement[bool],
    order_by: Sequence[ColumnElement],
    owner: str,
    lease_seconds: int,
    limit: int = 1,
    now: dt.datetime | None = None,
) -> list[int]:
    """Claim up to ``limit`` rows of ``table`` matching ``ready``; returns their ids.

    Call inside ``engine.begin()``; commit promptly so the lock is short.
    """
    now = now or utcnow()
    query = (
        select(table.c.id)
        .where(and_(ready, free(conn, table, now)))
        .order_by(*order_by)
        .limit(limit)
    )
    if conn.dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    ids = [row.id for row in conn.execute(query)]
    if ids:
        conn.execute(
            update(table)
            .where(table.c.id.in_(ids))
            .values(lease_owner=owner, lease_until=now + dt.timedelta(seconds=lease_seconds))
        )
    return ids


def renew(conn: Connection, table: Table, ids: Sequence[int], owner: str,
          lease_seconds: int) -> int:
    """Extend our leases; returns how many are still ours (a lost lease means stop working).
    Also our heartbeat: a holder that renews is alive."""
    if not ids:
        return 0
    workers.touch(conn, owner)
    result = conn.execute(
        update(table)
        .where(table.c.id.in_(list(ids)), table.c.lease_owner == owner)
        .values(lease_until=utcnow() + dt.timedelta(seconds=lease_seconds))
    )
    return result.rowcount


def release(conn: Connection, table: Table, ids: Sequence[int], owner: str) -> None:
    """Give claims back (only ours) so another worker may take them now."""
    if ids:
        conn.execute(
            update(table)
            .where(table.c.id.in_(list(ids)), table.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )
