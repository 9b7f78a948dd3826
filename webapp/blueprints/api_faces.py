"""JSON API listing a project's faces and decisions, paged with a cursor (members only;
documented in webapp/openapi/faces.yaml). Encodings are never returned."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from likeness.db import listings
from webapp.access import member_required
from webapp.api import api_error, int_arg, optional_int_arg
from webapp.context import engine
from webapp.serialize import iso

bp = Blueprint("api_faces", __name__, url_prefix="/api/projects/<int:project_id>")


ID_MAX = 2**31


def _next(cursor: int | None) -> str | None:
    return str(cursor) if cursor is not None else None


def face_json(face: listings.FaceRow) -> dict[str, Any]:
    return {"id": face.id, "image_id": face.image_id, "page_id": face.page_id,
            "title": face.title,
            "box": dict(zip(("left", "top", "width", "height"), face.box, strict=True)),
            "source": face.source, "state": face.state, "label": face.label,
            "labelled_at": iso(face.labelled_at), "score": face.score,
            "thumb_url": face.thumb_url, "created_at": iso(face.created_at)}


def decision_json(d: listings.DecisionRow) -> dict[str, Any]:
    return {"id": d.id, "face_id": d.face_id, "user_id": d.user_id, "username": d.username,
            "answer": d.answer, "undoes_id": d.undoes_id, "via": d.via,
            "created_at": iso(d.created_at)}


@bp.get("/faces")
@member_required()
def faces(project_id: int) -> dict:
    label = request.args.get("label")
    if label is not None and label not in listings.LABELS:
        api_error(400, "bad_label", f"label must be one of {', '.join(listings.LABELS)}")
    with engine().connect() as conn:
        rows, cursor = listings.faces_page(
            conn, project_id, after=optional_int_arg("cursor", 1, ID_MAX), label=label,
            limit=int_arg("limit", 100, 1, listings.MAX_PAGE))
    return {"faces": [face_json(f) for f in rows], "next_cursor": _next(cursor)}


@bp.get("/decisions")
@member_required()
def decisions(project_id: int) -> dict:
    with engine().connect() as conn:
        rows, cursor = listings.decisions_page(
            conn, project_id, after=optional_int_arg("cursor", 1, ID_MAX),
            user_id=optional_int_arg("user_id", 1, ID_MAX),
            face_id=optional_int_arg("face_id", 1, ID_MAX),
            limit=int_arg("limit", 100, 1, listings.MAX_PAGE))
    return {"decisions": [decision_json(d) for d in rows], "next_cursor": _next(cursor)}
