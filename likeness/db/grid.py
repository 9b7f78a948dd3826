"""Batch confirmation in classify: a page of the model's proposals, best first, answered at once.

A grid shows unlabelled active faces scoring at least ``progress.grid_floor``: every proposal
(score at or above the project's threshold) and the faces the model finds likely; the model
folds "one proposal per image" into the scores it stores.
``proposals_for`` reserves up to ``k`` of them for one labeller exactly as the ask-queue
reserves faces (``queue.askable``: not skipped by the user, not reserved by someone else), highest
score first. ``submit`` records yes for the confirmed faces and no for the rejected ones
(via 'grid'), one page token for the page; ``decisions.undo_page`` takes the page back at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, and_

from likeness.db import queue, review
from likeness.db.progress import grid_floor
from likeness.db.queue import QueuedFace
from likeness.db.schema import faces, utcnow

DEFAULT_K = 12
MAX_K = 20
HELD_LIMIT = 2 * queue.MAX_BATCH   # faces the page may hold: the grid and prefetched questions


def proposals_for(conn: Connection, project_id: int, user_id: int, k: int = DEFAULT_K, *,
                  held: Sequence[int] = (), at_least: int = 1, now: dt.datetime | None = None,
                  reserve_seconds: int = queue.RESERVE_SECONDS) -> list[QueuedFace]:
    """Renew the user's ``held`` reservations and reserve up to ``k`` faces for a grid page
    (unlabelled, scoring at least ``grid_floor``), best first.

    Call inside ``engine.begin()``. ``held`` (faces the page shows or prefetched) are not
    returned. Fewer than ``at_least`` proposals free for this user: none are reserved and the
    answer is empty, so a page asks for a grid only when it is worth showing.
    """
    now = now or utcnow()
    until = now + dt.timedelta(seconds=reserve_seconds)
    held = [int(i) for i in held][:HELD_LIMIT]
    if held:
        queue.renew(conn, user_id, held, until)
    k = max(0, min(int(k), MAX_K))
    if k == 0:
        return []
    where = and_(queue.open_to(conn, project_id, user_id, held, now),
                 faces.c.score >= grid_floor(conn, project_id))
    ids = queue.reserve_ids(conn, where, k, best_first=True)
    return queue.hand_out(conn, user_id, ids if len(ids) >= at_least else [], until)


def submit(conn: Connection, project_id: int, user_id: int, *, confirm: Sequence[int],
           reject: Sequence[int], client_token: str) -> dict[str, int]:
    """Yes for every confirmed face, no for every rejected one, in the caller's transaction;
    idempotent per page token (``review.record_page``)."""
    done = review.record_page(conn, project_id, user_id, accept=confirm, reject=reject,
                              answers=("yes", "no"), via="grid", client_token=client_token)
    return {"confirmed": done["accepted"], "rejected": done["rejected"],
            "duplicates": done["duplicates"]}
