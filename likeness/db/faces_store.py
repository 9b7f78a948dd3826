"""A project's faces: links to the shared detections of a file, and boxes drawn by people.

Boxes are fractions of the decoded image (``likeness.faces.types.Box``); encodings are 128
little-endian float32 (512 bytes) and live in ``detections`` only. ``link`` gives a project's
image one face per current detection of its file (the box is copied, the encoding is not), so a
second project over the same file costs no detection. A drawn box is stored at once with
``state='encoding'`` and no detection, plus an ``encode_box`` job (``likeness.db.boxes.
add_box``); the worker stores its encoding as a detection private to the project and links it
(``active``) or gives up (``error``), so dlib never runs in the web process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, insert, or_, select, update

from likeness.db import files as file_rows
from likeness.db import jobs
from likeness.db.files import FileState
from likeness.db.schema import decisions, detections, faces, files, images, inserted_id, utcnow

SEED_ORIGINS = ("reference", "depicts")  # images.origin values whose faces are seeds
DETECTED = ("detector", "seed")          # faces.source values that come from a detection


def store_detections(conn: Connection, state: FileState, detected: Sequence[Any],
                     previous_sha1: str | None) -> bool:
    """The detector's faces (``DetectedFace``) on the file's current version, shared by every
    project. When they replace another version's (``previous_sha1``, the file's sha1 before
    this detection), that version's faces are superseded first. Returns whether they were."""
    changed = previous_sha1 is not None and previous_sha1 != state.sha1
    if changed:
        supersede(conn, state)
    if detected:
        now = utcnow()
        conn.execute(insert(detections), [
            {"file_id": state.id, "sha1": state.sha1, "box_left": face.box.left,
             "box_top": face.box.top, "box_width": face.box.width,
             "box_height": face.box.height, "encoding": face.encoding, "project_id": None,
             "created_at": now} for face in detected])
    return changed


def supersede(conn: Connection, state: FileState) -> None:
    """Retire the detections of every other version of the file (shared ones and boxes drawn
    on them) and the faces on them, in every project, with boxes drawn on the old version that
    still wait for their encoding. The old detections lose their encodings: nothing asks or
    trains on a superseded face."""
    other_version = and_(detections.c.file_id == state.id,
                         or_(detections.c.sha1.is_(None), detections.c.sha1 != state.sha1))
    old = select(detections.c.id).where(other_version)
    drawn_waiting = select(faces.c.id).join(images, images.c.id == faces.c.image_id).where(
        images.c.page_id == state.page_id, faces.c.state == "encoding")
    retire(conn, list(conn.execute(select(faces.c.id).where(
        or_(faces.c.detection_id.in_(old), faces.c.id.in_(drawn_waiting)),
        faces.c.state != "superseded")).scalars()))
    conn.execute(update(detections).where(other_version, detections.c.encoding.is_not(None))
                 .values(encoding=None))


def retire(conn: Connection, face_ids: Sequence[int]) -> None:
    """Faces somebody answered (any decision, skips included) stay as ``superseded``, so the
    history keeps what people said about which version; faces nobody answered go."""
    answered = exists().where(decisions.c.face_id == faces.c.id)
    face_ids = list(face_ids)
    for start in range(0, len(face_ids), 500):
        chunk = face_ids[start:start + 500]
        conn.execute(update(faces).where(faces.c.id.in_(chunk), answered).values(
            state="superseded", reserved_by=None, reserved_until=None))
        conn.execute(delete(faces).where(faces.c.id.in_(chunk), ~answered))


def revive(conn: Connection, project_id: int) -> int:
    """An archived project comes back after retention erased its encodings: drawn boxes are
    encoded again, and images whose faces lost their detection (or whose file lost its
    encodings) are queued; linking gives those faces their detection back (``link``), at once
    and without detection when another project still uses the file. Returns images queued."""
    for face in conn.execute(select(faces.c.id, faces.c.created_by).where(
            faces.c.project_id == project_id, faces.c.source == "manual",
            faces.c.state == "active", faces.c.detection_id.is_(None))).all():
        conn.execute(update(faces).where(faces.c.id == face.id).values(state="encoding"))
        jobs.enqueue_encode_box(conn, project_id, face.id, face.created_by)
    unlinked = select(faces.c.image_id).where(
        faces.c.project_id == project_id, faces.c.source.in_(DETECTED),
        faces.c.state == "active", faces.c.detection_id.is_(None))
    undetected = select(files.c.page_id).where(files.c.detected_at.is_(None))
    ids = list(conn.execute(select(images.c.id).where(
        images.c.project_id == project_id, images.c.status == "done",
        or_(images.c.id.in_(unlinked), images.c.page_id.in_(undetected)))).scalars())
    if ids:
        conn.execute(update(images).where(images.c.id.in_(ids)).values(
            status="pending", attempts=0, next_try_at=None))
    return len(ids)


_BOX = (faces.c.box_left, faces.c.box_top, faces.c.box_width, faces.c.box_height)


def _box(row: Any) -> tuple[float, float, float, float]:
    return (row.box_left, row.box_top, row.box_width, row.box_height)


@dataclass(frozen=True)
class Linked:
    image_id: int
    project_id: int
    faces: int


def link(conn: Connection, image_id: int, state: FileState, *, owner: str | None = None,
         now: Any = None) -> Linked | None:
    """Make the image's detector faces exactly the file's current detections and mark it done.

    ``owner``: the worker holding the image's lease (its attempt is counted); without it the
    image is linked only if nobody holds it. Returns None, writing nothing, when the image is
    held by someone else. Faces already linked stay as they are (label, score, decisions);
    drawn (manual) faces are left alone; detector faces of other detections are retired like
    superseded ones (kept if answered, else deleted). Idempotent.
    """
    now = now or utcnow()
    if owner is not None:
        mine = and_(images.c.id == image_id, images.c.lease_owner == owner)
        extra: dict[str, Any] = {"attempts": images.c.attempts + 1}
    else:
        mine = and_(images.c.id == image_id,
                    or_(images.c.lease_until.is_(None), images.c.lease_until < now))
        extra = {}
    thumb = state.thumb
    done = conn.execute(update(images).where(mine).values(
        status="done", processed_at=now, error_kind=None, last_error=None, next_try_at=None,
        lease_owner=None, lease_until=None, thumb_url=thumb.url if thumb else None,
        thumb_width=thumb.width if thumb else None, thumb_height=thumb.height if thumb else None,
        mime=(thumb.mime or None) if thumb else None,
        width=thumb.original_width if thumb else None,
        height=thumb.original_height if thumb else None, **extra)).rowcount
    if done != 1:
        return None
    image = conn.execute(select(images.c.project_id, images.c.origin)
                         .where(images.c.id == image_id)).one()
    # The current version's: older ones lost their encodings when they were superseded.
    wanted = {r.id: r for r in conn.execute(select(detections).where(
        detections.c.file_id == state.id, detections.c.project_id.is_(None),
        detections.c.encoding.is_not(None)))}
    have = conn.execute(select(faces.c.id, faces.c.detection_id, *_BOX).where(
        faces.c.image_id == image_id, faces.c.source.in_(DETECTED),
        faces.c.state != "superseded")).all()
    linked = {face.detection_id for face in have} & set(wanted)
    # Faces retention unlinked (detection_id NULL) get their detection back when the detector
    # finds the same box again, so what people answered about them still counts.
    unlinked = {_box(face): face.id for face in have if face.detection_id is None}
    new = []
    for detection in wanted.values():
        if detection.id in linked:
            continue
        face_id = unlinked.pop(_box(detection), None)
        if face_id is None:
            new.append(detection)
        else:
            conn.execute(update(faces).where(faces.c.id == face_id)
                         .values(detection_id=detection.id))
            linked.add(detection.id)
    retire(conn, [face.id for face in have
                  if face.detection_id is not None and face.detection_id not in wanted]
           + list(unlinked.values()))
    source = "seed" if image.origin in SEED_ORIGINS else "detector"
    if new:
        conn.execute(insert(faces), [
            {"project_id": image.project_id, "image_id": image_id, "detection_id": d.id,
             "box_left": d.box_left, "box_top": d.box_top, "box_width": d.box_width,
             "box_height": d.box_height, "source": source, "state": "active",
             "created_at": now} for d in new])
    conn.execute(update(images).where(images.c.id == image_id).values(faces_found=len(wanted)))
    return Linked(image_id, image.project_id, len(wanted))


def link_everywhere(conn: Connection, state: FileState, owner: str, image_id: int | None,
                    relink_done: bool) -> list[Linked]:
    """After a detection: link our own image (``image_id``, under our lease) and every other
    project's image of the file that nobody holds: those waiting, and with ``relink_done``
    (a re-upload) those already done on the old version."""
    statuses = ("pending", "done") if relink_done else ("pending",)
    others = conn.execute(select(images.c.id).where(
        images.c.page_id == state.page_id, images.c.status.in_(statuses))
        .order_by(images.c.id)).scalars().all()
    linked = []
    for other in others:
        result = link(conn, other, state, owner=owner if other == image_id else None)
        if result is not None:
            linked.append(result)
    return linked


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
    """Store a drawn box's encoding as a detection private to its project and link it; False
    if the face no longer waits (edited, deleted, or its file was re-uploaded meanwhile)."""
    face = conn.execute(
        select(faces.c.project_id, faces.c.box_left, faces.c.box_top, faces.c.box_width,
               faces.c.box_height, images.c.page_id, images.c.title)
        .join(images, images.c.id == faces.c.image_id)
        .where(faces.c.id == face_id, faces.c.state == "encoding")
        .with_for_update()).first()
    if face is None:
        return False
    state = file_rows.get(conn, file_rows.ensure(conn, face.page_id, face.title))
    detection_id = inserted_id(conn.execute(insert(detections).values(
        file_id=state.id, sha1=state.sha1, box_left=face.box_left, box_top=face.box_top,
        box_width=face.box_width, box_height=face.box_height, encoding=encoding,
        project_id=face.project_id, created_at=utcnow())))
    return conn.execute(update(faces).where(
        and_(faces.c.id == face_id, faces.c.state == "encoding")).values(
        detection_id=detection_id, state="active")).rowcount == 1


def fail_box(conn: Connection, face_id: int) -> bool:
    """The box cannot be encoded (too small, image gone...); the job keeps the message."""
    return conn.execute(update(faces).where(
        and_(faces.c.id == face_id, faces.c.state == "encoding")).values(state="error")
    ).rowcount == 1


def boxes_on_image(conn: Connection, face_id: int
                   ) -> tuple[tuple[float, float, float, float], list[Any]] | None:
    """The face's box and the boxes of the other faces on its image in its project (active,
    drawn ones included, not those called "not a face"): what decides a statement's rank."""
    face = conn.execute(select(faces.c.image_id, faces.c.project_id, *_BOX)
                        .where(faces.c.id == face_id)).first()
    if face is None:
        return None
    others = conn.execute(select(*_BOX).where(
        faces.c.image_id == face.image_id, faces.c.project_id == face.project_id,
        faces.c.id != face_id, faces.c.state == "active",
        or_(faces.c.label.is_(None), faces.c.label != "not_face"))).all()
    return _box(face), [_box(other) for other in others]


def image_faces(conn: Connection, image_id: int) -> list[Any]:
    """Every face row of an image (tests, and the classification context)."""
    return list(conn.execute(select(faces).where(faces.c.image_id == image_id)
                             .order_by(faces.c.box_left, faces.c.box_top)))
