"""Faces written by the worker: detector results of an image, and boxes drawn by people.

Boxes are fractions of the decoded image (``likeness.faces.types.Box``); encodings are 128
little-endian float32 (512 bytes). A drawn box is stored at once with ``state='encoding'`` and a
NULL encoding, plus an ``encode_box`` job (``likeness.db.boxes.add_box``); the worker fills the
encoding in (``active``) or gives up (``error``), so dlib never runs in the web process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from likeness.db.schema import faces, images, utcnow

SEED_ORIGINS = ("reference", "depicts")  # images.origin values whose faces are seeds


def replace_detected(conn: Connection, image_id: int, project_id: int,
                     detected: Sequence[Any]) -> int:
    """Make the image's detector faces exactly ``detected`` (DetectedFace); returns the count.

    Run in the same transaction that marks the image done, under the image's lease, so a
    retried image never ends up with its faces twice. Drawn (manual) faces and faces someone
    already answered are left alone.
    """
    conn.execute(delete(faces).where(faces.c.image_id == image_id,
                                     faces.c.source.in_(("detector", "seed")),
                                     faces.c.label.is_(None)))
    if not detected:
        return 0
    now = utcnow()
    source = source_for_image(conn, image_id)
    conn.execute(insert(faces), [
        {"project_id": project_id, "image_id": image_id, "box_left": face.box.left,
         "box_top": face.box.top, "box_width": face.box.width, "box_height": face.box.height,
         "encoding": face.encoding, "source": source, "state": "active", "created_at": now}
        for face in detected])
    return len(detected)


def source_for_image(conn: Connection, image_id: int) -> str:
    """Faces on the item's P18 photo or on files already carrying P180 are provisional seeds."""
    origin = conn.execute(select(images.c.origin).where(images.c.id == image_id)).scalar_one()
    return "seed" if origin in SEED_ORIGINS else "detector"


# --- drawn boxes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BoxRequest:
    """A drawn box waiting for its encoding, with what is needed to fetch its image."""

    face_id: int
    project_id: int
    image_id: int
    page_id: int
    title: str
    thumb_url: str | None
    box: tuple[float, float, float, float]  # left, top, width, height (fractions)


def pending_box(conn: Connection, face_id: int) -> BoxRequest | None:
    """The drawn box of ``face_id`` if it still waits for an encoding."""
    row = conn.execute(
        select(faces.c.id, faces.c.project_id, faces.c.image_id, faces.c.box_left,
               faces.c.box_top, faces.c.box_width, faces.c.box_height, images.c.page_id,
               images.c.title, images.c.thumb_url)
        .join(images, images.c.id == faces.c.image_id)
        .where(faces.c.id == face_id, faces.c.state == "encoding")).first()
    if row is None:
        return None
    return BoxRequest(row.id, row.project_id, row.image_id, row.page_id, row.title,
                      row.thumb_url,
                      (row.box_left, row.box_top, row.box_width, row.box_height))


def set_box_encoding(conn: Connection, face_id: int, encoding: bytes) -> bool:
    """Fill in a drawn box's encoding; False if it no longer waits (edited or deleted)."""
    return conn.execute(update(faces).where(
        and_(faces.c.id == face_id, faces.c.state == "encoding")).values(
        encoding=encoding, state="active")).rowcount == 1


def fail_box(conn: Connection, face_id: int) -> bool:
    """The box cannot be encoded (too small, image gone...); the job keeps the message."""
    return conn.execute(update(faces).where(
        and_(faces.c.id == face_id, faces.c.state == "encoding")).values(state="error")
    ).rowcount == 1


def image_faces(conn: Connection, image_id: int) -> list[Any]:
    """Every face row of an image (tests, and the classification context)."""
    return list(conn.execute(select(faces).where(faces.c.image_id == image_id)
                             .order_by(faces.c.box_left, faces.c.box_top)))
