"""Which depicts statements a project wants written, and the preview shown before sending.

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

SAMPLE_SIZE = 24


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


def wanted_edits(conn: Connection, project_id: int, qid: str) -> list[Wanted]:
    """One Wanted per file with a confirmed face of the project's person, by page id."""
    by_page: dict[int, list[ConfirmedFace]] = {}
    for face in edit_rows.confirmed_faces(conn, project_id):
        by_page.setdefault(face.page_id, []).append(face)
    wanted = []
    for page_id in sorted(by_page):
        face = choose_face(by_page[page_id])
        if face is None:
            continue
        try:
            region = Box(*face.box).to_iiif()
        except BoxError:
            continue  # a degenerate stored box: nothing sensible to write
        wanted.append(Wanted(page_id, face.title, qid, face.face_id, region))
    return wanted


@dataclass(frozen=True)
class SampleItem:
    page_id: int
    title: str
    thumb_url: str | None
    box: tuple[float, float, float, float]
    region: str
    thumb_width: int | None = None
    thumb_height: int | None = None

    @property
    def viewbox(self) -> tuple[int, int]:
        """SVG canvas for the thumbnail with its box (the thumbnail's size, else 100 x 100)."""
        if self.thumb_width and self.thumb_height:
            return self.thumb_width, self.thumb_height
        return 100, 100

    def rect(self) -> tuple[float, float, float, float]:
        """The box in viewbox units: x, y, width, height."""
        w, h = self.viewbox
        return (self.box[0] * w, self.box[1] * h, self.box[2] * w, self.box[3] * h)


@dataclass(frozen=True)
class Preview:
    """What 'Send edits' would do now, shown before anything is queued."""

    qid: str
    label: str
    new: list[Wanted]              # pairs nobody queued yet (or cancelled / removed again)
    already: int                   # pairs already queued, sent or skipped (by any project)
    precision: float | None        # latest model run's precision estimate
    model_run_id: int | None
    sample: list[SampleItem]

    @property
    def count(self) -> int:
        return len(self.new)


def preview(conn: Connection, project_id: int, sample_size: int = SAMPLE_SIZE) -> Preview:
    project = edit_rows.project_settings(conn, project_id)
    if project is None:
        raise LookupError(f"no project {project_id}")
    wanted = wanted_edits(conn, project_id, project.qid)
    existing = edit_rows.existing_pairs(conn, [w.page_id for w in wanted], project.qid)
    new = [w for w in wanted if w.page_id not in existing or _reopenable(existing[w.page_id])]
    precision, run_id = edit_rows.latest_precision(conn, project_id)
    faces = {f.face_id: f for f in edit_rows.confirmed_faces(conn, project_id)}
    sample = [SampleItem(w.page_id, w.title, faces[w.face_id].thumb_url, faces[w.face_id].box,
                         w.region, faces[w.face_id].thumb_width, faces[w.face_id].thumb_height)
              for w in new[:sample_size] if w.face_id in faces]
    return Preview(project.qid, project.label, new, len(wanted) - len(new), precision, run_id,
                   sample)


def _reopenable(edit: edit_rows.Edit) -> bool:
    return edit.state == "cancelled" or (edit.action == "remove" and edit.state == "done")


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
