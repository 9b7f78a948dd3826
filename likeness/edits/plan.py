"""Which depicts statements a project wants written, and the preview shown before sending.

An edit Undo took back is not wanted again until a person confirms a face of it anew
(``likeness.db.edits.reopenable``).

Only faces a person confirmed (label 'yes' with a human yes/approve decision) are written; model
proposals nobody reviewed never are.

One statement per file: a P180 statement means "the file depicts Q", so two statements with the
same value would be a duplicate, whatever their qualifiers. When people confirmed several faces
of the target on one file (a person and their portrait on the wall, a reflection), the largest
box is written as the region: it is the most likely to be the subject and the easiest to see in
Wikidata Image Positions. Ties go to the lowest face id, so the choice is stable.

Regions: the boxes are fractions of the image as displayed (after EXIF orientation). Commons
renders thumbnails and reports width/height with EXIF rotation applied, and P2677 (read by
Wikidata Image Positions) describes the image as displayed, so the fractions map to ``pct:``
directly (``Box.to_iiif``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection

from likeness.db import edits as edit_rows
from likeness.db.edits import ConfirmedFace, Wanted
from likeness.faces.types import Box, BoxError


def choose_face(faces: Iterable[ConfirmedFace]) -> ConfirmedFace | None:
    """The face whose region is written for one file: the largest box, then the lowest id."""
    best: ConfirmedFace | None = None
    for face in faces:
        if best is None or _area(face) > _area(best) or (
                _area(face) == _area(best) and face.face_id < best.face_id):
            best = face
    return best


def _area(face: ConfirmedFace) -> float:
    return face.box[2] * face.box[3]


def by_file(faces: Iterable[ConfirmedFace]) -> dict[int, list[ConfirmedFace]]:
    """Confirmed faces grouped by page id, in page id order."""
    grouped: dict[int, list[ConfirmedFace]] = {}
    for face in faces:
        grouped.setdefault(face.page_id, []).append(face)
    return dict(sorted(grouped.items()))


def wanted_for(faces: list[ConfirmedFace], qid: str) -> Wanted | None:
    """The statement one file's confirmed faces ask for, or None for a degenerate box."""
    face = choose_face(faces)
    if face is None:
        return None
    try:
        region = Box(*face.box).to_iiif()
    except BoxError:
        return None  # a degenerate stored box: nothing sensible to write
    newest = max(f.confirmed_by for f in faces)
    return Wanted(face.page_id, face.title, qid, face.face_id, region, newest)


def wanted_edits(conn: Connection, project_id: int, qid: str) -> list[Wanted]:
    """One Wanted per file with a confirmed face of the project's person, by page id."""
    files = by_file(edit_rows.confirmed_faces(conn, project_id))
    return [w for w in (wanted_for(faces, qid) for faces in files.values()) if w is not None]


@dataclass(frozen=True)
class PreviewItem:
    """One statement 'Send' would write, with what the page needs to draw it."""

    page_id: int
    title: str
    region: str
    box: tuple[float, float, float, float]
    thumb_url: str | None
    thumb_width: int | None
    thumb_height: int | None


@dataclass(frozen=True)
class Preview:
    """What 'Send' would do now, shown before anything is queued."""

    qid: str
    label: str
    new: list[PreviewItem]          # files that get the statement (by page id)
    already: int                    # files whose pair some project already queued or wrote
    undone: int                     # files whose edit was undone: offered after a new yes

    @property
    def count(self) -> int:
        return len(self.new)

    def after(self, page_id: int | None, limit: int) -> tuple[list[PreviewItem], int | None]:
        """A page of ``new`` after ``page_id`` and the next cursor (None at the end)."""
        rest = [item for item in self.new if page_id is None or item.page_id > page_id]
        return rest[:limit], (rest[limit - 1].page_id if len(rest) > limit else None)


def preview(conn: Connection, project_id: int) -> Preview:
    """What 'Send' would write now, statement by statement (the page's thumbnails; its polled
    counts come from ``likeness.db.edits.send_counts``). The chosen face and its region are
    worked out only for files that get a statement."""
    project = edit_rows.project_settings(conn, project_id)
    if project is None:
        raise LookupError(f"no project {project_id}")
    existing = edit_rows.pair_states(conn, project_id, project.qid)
    new, already, undone = [], 0, 0
    for page_id, faces in by_file(edit_rows.confirmed_faces(conn, project_id)).items():
        edit = existing.get(page_id)
        if edit is not None and not edit_rows.reopenable(
                edit, max(f.confirmed_by for f in faces)):
            if edit.undo_decision_id is not None:
                undone += 1
            else:
                already += 1
            continue
        want = wanted_for(faces, project.qid)
        if want is not None:
            face = next(f for f in faces if f.face_id == want.face_id)
            new.append(PreviewItem(page_id, want.title, want.region, face.box,
                                   face.thumb_url, face.thumb_width, face.thumb_height))
    return Preview(project.qid, project.label, new, already, undone)


def new_batch_id() -> str:
    """12 hex digits, the form EditGroups' custom-batch ('CB') links accept."""
    return secrets.token_hex(6)


def queue_project(conn: Connection, project_id: int, user_id: int,
                  batch_id: str | None = None) -> tuple[str, edit_rows.QueueResult]:
    """Queue every wanted edit of the project, sent by ``user_id``; returns (batch, result)."""
    project = edit_rows.project_settings(conn, project_id)
    if project is None:
        raise LookupError(f"no project {project_id}")
    batch_id = batch_id or new_batch_id()
    wanted = wanted_edits(conn, project_id, project.qid)
    return batch_id, edit_rows.queue(conn, wanted, project_id=project_id, user_id=user_id,
                                     batch_id=batch_id)
