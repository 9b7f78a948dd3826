"""Boxes people draw: a missed face, or a corrected box replacing a wrong one.

A box is stored as fractions of the image (left, top, width, height in [0, 1]), the same
representation the detector's faces use, so the worker encodes exactly the drawn region on
whatever resolution it downloads: there is no pixel space to mix up. The web process never runs
dlib: it inserts the face in state 'encoding' and queues an ``encode_box`` job.
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import Connection, insert, select, update

from likeness.db import decisions, jobs
from likeness.db.schema import faces, images, inserted_id, utcnow
from likeness.faces.types import Box
from likeness.faces.types import BoxError as InvalidBox

MIN_FRACTION = 0.01     # narrower than 1 % of the image is a click, not a face
MIN_PIXELS = 12         # and dlib needs a few pixels of face on the detection thumbnail


class BoxError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_box(data: object) -> Box:
    """A box from JSON ``{left, top, width, height}`` (fractions), or a BoxError with a code."""
    if not isinstance(data, dict):
        raise BoxError("bad_box", "box must be an object with left, top, width, height")
    try:
        values = [float(data[k]) for k in ("left", "top", "width", "height")]
    except (KeyError, TypeError, ValueError) as exc:
        raise BoxError("bad_box", "box needs numeric left, top, width and height") from exc
    if not all(math.isfinite(v) for v in values):
        raise BoxError("bad_box", "box values must be finite numbers")
    try:
        return Box(*values)
    except InvalidBox as exc:
        raise BoxError("out_of_image", "the box must lie inside the image (fractions 0..1)"
                       ) from exc


def check_drawable(box: Box, thumb_width: int | None, thumb_height: int | None) -> None:
    """Refuse boxes too small to hold a face (a stray click) on the detection thumbnail."""
    if box.width < MIN_FRACTION or box.height < MIN_FRACTION:
        raise BoxError("too_small", "the box is too small to hold a face")
    if thumb_width and thumb_height and (box.width * thumb_width < MIN_PIXELS
                                         or box.height * thumb_height < MIN_PIXELS):
        raise BoxError("too_small", f"the box must be at least {MIN_PIXELS} pixels wide "
                                    "and high on the image")


DRAWN_ANSWERS = ("yes", "no")


def add_box(conn: Connection, *, project_id: int, image_id: int, user_id: int, box: Box,
            replaces: int | None = None, client_token: str | None = None,
            now: dt.datetime | None = None, answer: str = "yes") -> int:
    """Insert a drawn face with the drawer's ``answer`` about it ('yes': the person, 'no':
    someone else) and queue its encoding.

    With ``replaces``, the old face of the same image is marked 'replaced' and leaves every
    queue; its decisions stay in the history. Returns the new face id.
    """
    if client_token:
        decisions.check_token(client_token)
        previous = decisions.by_token(conn, user_id, client_token, project_id=project_id,
                                      via="box")
        if previous is not None:      # a retried POST: the box is already there
            return previous.face_id
    if answer not in DRAWN_ANSWERS:
        raise BoxError("bad_answer", "answer must be 'yes' or 'no'")
    image = conn.execute(
        select(images.c.id, images.c.thumb_width, images.c.thumb_height)
        .where(images.c.id == image_id, images.c.project_id == project_id)).first()
    if image is None:
        raise BoxError("no_image", f"image {image_id} is not in project {project_id}")
    check_drawable(box, image.thumb_width, image.thumb_height)
    now = now or utcnow()
    decisions.touch_project(conn, project_id, now)   # before any foreign-key lock on it
    if replaces is not None:
        old = conn.execute(
            select(faces.c.id, faces.c.state).where(
                faces.c.id == replaces, faces.c.image_id == image_id,
                faces.c.project_id == project_id).with_for_update()).first()
        if old is None:
            raise BoxError("no_face", f"face {replaces} is not on image {image_id}")
        if old.state == "replaced":
            raise BoxError("already_replaced", f"face {replaces} was already replaced")
        conn.execute(update(faces).where(faces.c.id == replaces).values(
            state="replaced", reserved_by=None, reserved_until=None))
    face_id = inserted_id(conn.execute(insert(faces).values(
        project_id=project_id, image_id=image_id, box_left=box.left, box_top=box.top,
        box_width=box.width, box_height=box.height, source="manual",
        state="encoding", created_by=user_id, created_at=now,
    )))
    jobs.enqueue_encode_box(conn, project_id, face_id, user_id)
    # The drawer says whose face it is (recorded like any answer, undoable).
    decisions.record(conn, project_id=project_id, face_id=face_id, user_id=user_id,
                     answer=answer, via="box", client_token=client_token, now=now,
                     touch=False)
    return face_id


def box_state(conn: Connection, project_id: int, face_id: int) -> dict | None:
    """A face's box and state, e.g. to show whether a drawn box is encoded yet."""
    row = conn.execute(
        select(faces.c.id, faces.c.image_id, faces.c.state, faces.c.source, faces.c.label,
               faces.c.box_left, faces.c.box_top, faces.c.box_width, faces.c.box_height)
        .where(faces.c.id == face_id, faces.c.project_id == project_id)).first()
    if row is None:
        return None
    return {"id": row.id, "image_id": row.image_id, "state": row.state, "source": row.source,
            "label": row.label,
            "box": {"left": row.box_left, "top": row.box_top, "width": row.box_width,
                    "height": row.box_height}}


def image_faces(conn: Connection, project_id: int, image_id: int) -> list[dict]:
    """The other faces on an image (context boxes on the classify page)."""
    rows = conn.execute(
        select(faces.c.id, faces.c.state, faces.c.label, faces.c.box_left, faces.c.box_top,
               faces.c.box_width, faces.c.box_height)
        .where(faces.c.image_id == image_id, faces.c.project_id == project_id,
               faces.c.state.not_in(("replaced", "superseded"))).order_by(faces.c.id)).all()
    return [{"id": r.id, "state": r.state, "label": r.label,
             "box": {"left": r.box_left, "top": r.box_top, "width": r.box_width,
                     "height": r.box_height}} for r in rows]
