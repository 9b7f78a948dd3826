"""Rate-limit token buckets in the database, so that every web process counts against the same
limit (two gunicorn workers must not allow twice the invite-code guesses).

A bucket holds ``burst`` tokens and refills at ``rate`` tokens a second; a request takes one (a
process may take a few at once and spend them itself: webapp.security.RateLimiter). Taking is a
single conditional UPDATE (row lock on MariaDB, the write lock on SQLite), so two processes can
never both spend the last token. A missing row is a full bucket: the first request inserts it;
buckets that have refilled since (``full_at`` passed) say nothing more and are pruned.

Locks on MariaDB, so that nothing deadlocks: a take locks only its own bucket's row, through the
primary key (a new bucket goes in with ON DUPLICATE KEY UPDATE, which takes the row's exclusive
lock at once instead of a shared one to upgrade later); pruning runs in a transaction of its
own, finds stale rows by a plain read and deletes them by primary key, in key order.
"""

from __future__ import annotations

from sqlalchemy import Connection, Insert, Row, bindparam, case, delete, select, update
from sqlalchemy.dialects import mysql, sqlite

from likeness.db.schema import rate_limits as buckets


def take(conn: Connection, bucket: str, rate: float, burst: float, now: float,
         want: int = 1) -> tuple[int, float]:
    """Take ``want`` tokens, or one if fewer are left: (tokens granted, 0.0), or (0, seconds
    until one will be there).

    ``now`` is Unix time (processes share the wall clock, not a monotonic one). Call inside
    ``engine.begin()``.
    """
    want = max(1, min(want, int(burst)))
    granted = _take_some(conn, bucket, rate, burst, now, want)
    if granted:
        return granted, 0.0
    row = _bucket(conn, bucket)
    if row is None:
        _insert_full(conn, bucket, burst, now)
        granted = _take_some(conn, bucket, rate, burst, now, want)
        if granted:
            return granted, 0.0
        row = _bucket(conn, bucket)
        assert row is not None  # there since _insert_full, locked by this transaction
    have = min(burst, row.tokens + max(now - row.updated_at, 0.0) * rate)
    return 0, max((1 - have) / rate, 1e-3)


def _take_some(conn: Connection, bucket: str, rate: float, burst: float, now: float,
               want: int) -> int:
    for amount in (want, 1) if want > 1 else (1,):
        if _take(conn, bucket, rate, burst, now, amount):
            return amount
    return 0


def _take(conn: Connection, bucket: str, rate: float, burst: float, now: float,
          amount: int) -> bool:
    elapsed = case((buckets.c.updated_at < now, now - buckets.c.updated_at), else_=0.0)
    refilled = case((buckets.c.tokens + elapsed * rate >= burst, burst),
                    else_=buckets.c.tokens + elapsed * rate)
    # MariaDB evaluates SET left to right with the new values: the ones that read the old
    # tokens and updated_at come first.
    return conn.execute(
        update(buckets)
        .where(buckets.c.bucket == bucket, refilled >= amount)
        .ordered_values((buckets.c.full_at, now + (burst - (refilled - amount)) / rate),
                        (buckets.c.tokens, refilled - amount),
                        (buckets.c.updated_at, now))).rowcount == 1


def _bucket(conn: Connection, bucket: str) -> Row | None:
    return conn.execute(select(buckets.c.tokens, buckets.c.updated_at)
                        .where(buckets.c.bucket == bucket)).first()


def prune(conn: Connection, now: float, limit: int = 1000) -> int:
    """Delete up to ``limit`` buckets that are full again; call in a transaction of its own.
    Returns how many were stale when looked at."""
    stale = conn.execute(select(buckets.c.bucket).where(buckets.c.full_at < now)
                         .order_by(buckets.c.bucket).limit(limit)).scalars().all()
    if stale:  # one primary-key lookup each: never a lock taken through the full_at index
        conn.execute(delete(buckets).where(buckets.c.bucket == bindparam("key"),
                                           buckets.c.full_at < now),
                     [{"key": key} for key in stale])
    return len(stale)


def _insert_full(conn: Connection, bucket: str, burst: float, now: float) -> None:
    """A full bucket, unless another process made one meanwhile (then that one stays)."""
    values = {"bucket": bucket, "tokens": burst, "updated_at": now, "full_at": now}
    statement: Insert
    if conn.dialect.name in ("mysql", "mariadb"):
        statement = mysql.insert(buckets).values(**values).on_duplicate_key_update(
            bucket=buckets.c.bucket)
    else:
        statement = sqlite.insert(buckets).values(**values).on_conflict_do_nothing()
    conn.execute(statement)
