"""Commons files, detected once per version and shared by every project that includes them.

A file's current detections are those of its current version (``files.sha1``, the SHA-1 of the
original). One worker at a time detects a file: ``claim`` takes the file's lease with a
conditional UPDATE (its row lock serialises two workers; the loser hears 'busy'), and
``finish_detection`` records the new version under that lease and gives it back. Storing the
detections, superseding an older version's and linking every project's image to them is
``likeness.db.faces_store``.

Re-uploads: the sha1 is compared with Commons whenever a worker processes an image of the file,
and by every crawl for files not checked for a while (``due_for_check``/``record_checks``); a
new sha1 sends every project's image of the file back to the queue and the first worker to
claim one re-detects the file for all of them.

Retention: a file's encodings are kept while some project's face uses them (or an active project
waits to link them); a file no project includes any more is deleted with its detections.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, delete, exists, func, insert, or_, select, update

from likeness.db import claims
from likeness.db.schema import detections, faces, files, images, projects, utcnow

ID_BATCH = 500


@dataclass(frozen=True)
class ThumbInfo:
    """What imageinfo said about the file and the thumbnail the faces were found on."""

    url: str
    width: int
    height: int
    mime: str = ""
    original_width: int | None = None
    original_height: int | None = None


@dataclass(frozen=True)
class FileState:
    id: int
    page_id: int
    title: str
    sha1: str | None
    detected_at: dt.datetime | None
    checked_at: dt.datetime | None
    thumb: ThumbInfo | None

    @property
    def detected(self) -> bool:
        return self.detected_at is not None


def _state(row: Any) -> FileState:
    thumb = (ThumbInfo(row.thumb_url, row.thumb_width, row.thumb_height, row.mime or "",
                       row.width, row.height) if row.thumb_url else None)
    return FileState(row.id, row.page_id, row.title, row.sha1, row.detected_at, row.checked_at,
                     thumb)


def ensure(conn: Connection, page_id: int, title: str) -> int:
    """The file's id, creating its row if needed (two workers at once make one row)."""
    found = conn.execute(select(files.c.id).where(files.c.page_id == page_id)).scalar()
    if found is not None:
        return int(found)
    conn.execute(insert(files).prefix_with("OR IGNORE", dialect="sqlite")
                 .prefix_with("IGNORE", dialect="mysql").prefix_with("IGNORE", dialect="mariadb")
                 .values(page_id=page_id, title=title[:255], created_at=utcnow()))
    return int(conn.execute(select(files.c.id).where(files.c.page_id == page_id)).scalar_one())


def get(conn: Connection, file_id: int) -> FileState:
    return _state(conn.execute(select(files).where(files.c.id == file_id)).one())


def current(conn: Connection, page_ids: Sequence[int],
            checked_since: dt.datetime) -> dict[int, FileState]:
    """Files detected and found unchanged on Commons since ``checked_since``, by page id:
    their images can be linked without asking Commons anything."""
    out: dict[int, FileState] = {}
    for start in range(0, len(page_ids), ID_BATCH):
        for row in conn.execute(select(files).where(
                files.c.page_id.in_(list(page_ids[start:start + ID_BATCH])),
                files.c.detected_at.is_not(None), files.c.sha1.is_not(None),
                files.c.checked_at >= checked_since)):
            out[row.page_id] = _state(row)
    return out


# --- detecting a file once ------------------------------------------------------------------


class Claim(NamedTuple):
    outcome: str        # 'current' (link it), 'busy' (another worker detects it), 'mine'
    file: FileState


def claim(conn: Connection, page_id: int, title: str, sha1: str, owner: str,
          lease_seconds: int, now: dt.datetime | None = None) -> Claim:
    """Decide what a worker holding an image of this file does, given Commons' sha1 now."""
    now = now or utcnow()
    file_id = ensure(conn, page_id, title)
    state = get(conn, file_id)
    if _is_current(state, sha1):
        return Claim("current", _checked(conn, state, sha1, now))
    # Not even our own lease is taken again: a second image of the file in this worker's
    # hands waits for the first detection like anybody else's.
    took = conn.execute(update(files).where(
        files.c.id == file_id,
        or_(files.c.lease_until.is_(None), files.c.lease_until < now),
    ).values(lease_owner=owner, lease_until=now + dt.timedelta(seconds=lease_seconds)))
    if took.rowcount != 1:
        return Claim("busy", state)
    # Our UPDATE waited for any other claimant's commit: look again before detecting.
    state = get(conn, file_id)
    if _is_current(state, sha1):
        release(conn, [file_id], owner)
        return Claim("current", _checked(conn, state, sha1, now))
    return Claim("mine", state)


def _is_current(state: FileState, sha1: str) -> bool:
    # A NULL sha1 on a detected file: detected before sha1s were kept (migration 0007).
    return state.detected and (state.sha1 is None or state.sha1 == sha1)


def _checked(conn: Connection, state: FileState, sha1: str, now: dt.datetime) -> FileState:
    """Record that Commons still has this version (adopting the sha1 of a migrated file)."""
    if state.sha1 is None:
        conn.execute(update(detections).where(detections.c.file_id == state.id,
                                              detections.c.sha1.is_(None)).values(sha1=sha1))
    conn.execute(update(files).where(files.c.id == state.id).values(sha1=sha1, checked_at=now))
    return FileState(state.id, state.page_id, state.title, sha1, state.detected_at, now,
                     state.thumb)


def renew(conn: Connection, file_ids: Sequence[int], owner: str, lease_seconds: int) -> int:
    return claims.renew(conn, files, file_ids, owner, lease_seconds)


def release(conn: Connection, file_ids: Sequence[int], owner: str) -> None:
    claims.release(conn, files, file_ids, owner)


def finish_detection(conn: Connection, file_id: int, owner: str, sha1: str,
                     thumb: ThumbInfo, n_faces: int) -> FileState | None:
    """Record that this version of the file was detected (the detections themselves:
    ``faces_store.store_detections``, in the same transaction) and give the lease back.
    None, writing nothing, when the file's lease is no longer ours."""
    now = utcnow()
    stored = conn.execute(update(files).where(
        files.c.id == file_id, files.c.lease_owner == owner).values(
        sha1=sha1, width=thumb.original_width, height=thumb.original_height,
        mime=thumb.mime[:100] or None, thumb_url=thumb.url[:2000], thumb_width=thumb.width,
        thumb_height=thumb.height, faces_found=n_faces, detected_at=now, checked_at=now,
        lease_owner=None, lease_until=None)).rowcount
    return get(conn, file_id) if stored == 1 else None


# --- re-upload checks -----------------------------------------------------------------------


def due_for_check(conn: Connection, project_id: int, checked_before: dt.datetime,
                  limit: int) -> list[tuple[int, int]]:
    """(file id, page id) of the project's detected files not compared with Commons since
    ``checked_before``, longest ago first."""
    return [(r.id, r.page_id) for r in conn.execute(
        select(files.c.id, files.c.page_id)
        .join(images, and_(images.c.page_id == files.c.page_id,
                           images.c.project_id == project_id, images.c.status == "done"))
        .where(files.c.detected_at.is_not(None),
               or_(files.c.checked_at.is_(None), files.c.checked_at < checked_before))
        .order_by(files.c.checked_at, files.c.id).limit(limit))]


def record_checks(conn: Connection, sha1s: Mapping[int, str],
                  now: dt.datetime | None = None) -> list[int]:
    """Compare Commons' sha1s (by page id) with the stored ones. Unchanged files are marked
    checked; a re-uploaded file's images go back to the queue in every project (the first
    worker re-detects it). Returns the page ids of re-uploaded files."""
    now = now or utcnow()
    changed = []
    for page_id, sha1 in sha1s.items():
        state = conn.execute(select(files).where(files.c.page_id == page_id)).first()
        if state is None or state.detected_at is None:
            continue
        if state.sha1 is None or state.sha1 == sha1:
            _checked(conn, _state(state), sha1, now)
            continue
        changed.append(page_id)
        # Not current any more: its images must ask Commons (and find the new sha1).
        conn.execute(update(files).where(files.c.id == state.id).values(checked_at=None))
        conn.execute(update(images).where(images.c.page_id == page_id,
                                          images.c.status == "done")
                     .values(status="pending", attempts=0, next_try_at=None))
    return changed


# --- retention --------------------------------------------------------------------------------


def page_ids_of(conn: Connection, project_id: int) -> list[int]:
    return list(conn.execute(select(images.c.page_id).where(images.c.project_id == project_id))
                .scalars())


def forget_unneeded(conn: Connection, page_ids: Iterable[int]) -> int:
    """Among these files: delete those no project includes any more (with their detections),
    and erase the encodings of those whose detections (drawn boxes' included) no face uses and
    no active project is waiting for (a later detection starts afresh). Returns how many
    encodings went."""
    page_ids = list(page_ids)
    gone = 0
    for start in range(0, len(page_ids), ID_BATCH):
        chunk = page_ids[start:start + ID_BATCH]
        included = exists().where(images.c.page_id == files.c.page_id)
        orphans = list(conn.execute(select(files.c.id).where(
            files.c.page_id.in_(chunk), ~included)).scalars())
        if orphans:
            gone += _count_encodings(conn, orphans)
            conn.execute(delete(files).where(files.c.id.in_(orphans)))
        used = exists().where(faces.c.detection_id == detections.c.id,
                              detections.c.file_id == files.c.id)
        awaited = exists().where(images.c.page_id == files.c.page_id,
                                 images.c.status == "pending",
                                 projects.c.id == images.c.project_id,
                                 projects.c.status != "archived")
        unneeded = list(conn.execute(select(files.c.id).where(
            files.c.page_id.in_(chunk), ~used, ~awaited)
        ).scalars())
        if unneeded:
            gone += conn.execute(update(detections).where(
                detections.c.file_id.in_(unneeded), detections.c.encoding.is_not(None))
                .values(encoding=None)).rowcount
            conn.execute(update(files).where(files.c.id.in_(unneeded))
                         .values(detected_at=None))
    return gone


def _count_encodings(conn: Connection, file_ids: list[int]) -> int:
    return int(conn.execute(select(func.count()).select_from(detections).where(
        detections.c.file_id.in_(file_ids), detections.c.encoding.is_not(None))).scalar_one())
