"""Rate-limit token buckets in the database, so that every web process counts against the same
limit (two gunicorn workers must not allow twice the invite-code guesses).

A bucket holds ``burst`` tokens and refills at ``rate`` tokens a second; a request takes one (a
process may take a few at once and spend them itself: webapp.security.RateLimiter). Taking is a
single conditional UPDATE (row lock on MariaDB, the write lock on SQLite), so two processes can
never both spend the last token. A missing row is a full bucket: the first request inserts it,
and buckets that have refilled since (``full_at`` passed) are deleted then.
"""

from __future__ import annotations

from sqlalchemy import Connection, case, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from likeness.db.schema import rate_limits as buckets


def take(conn: Connection, bucket: str, rate: float, burst: float, now: float,
         want: int = 1) -> tuple[int, float]:
    """Take ``want`` tokens, or one if fewer are left: (tokens granted, 0.0), or (0, seconds
    until one will be there).

    ``now`` is Unix time (processes share the wall clock, not a monotonic one). Call inside
    ``engine.begin()``.
    """
    want = max(1, min(want, int(burst)))
    for amount in (want, 1) if want > 1 else (1,):
        if _take(conn, bucket, rate, burst, now, amount):
            return amount, 0.0
    row = conn.execute(select(buckets.c.tokens, buckets.c.updated_at)
                       .where(buckets.c.bucket == bucket)).first()
    if row is not None:
        have = min(burst, row.tokens + max(now - row.updated_at, 0.0) * rate)
        return 0, max((1 - have) / rate, 1e-3)
    conn.execute(delete(buckets).where(buckets.c.full_at < now))
    try:
        with conn.begin_nested():
            conn.execute(insert(buckets).values(bucket=bucket, tokens=burst - want,
                                                updated_at=now, full_at=now + want / rate))
    except IntegrityError:  # another process made the bucket meanwhile: take from that one
        return take(conn, bucket, rate, burst, now, want)
    return want, 0.0


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
