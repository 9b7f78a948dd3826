"""Classify: one face at a time, keyboard first. The page is static; static/js/classify.js asks
the JSON API below for faces (reserved for this user), sends answers and undos with a client
token (retries record once), and draws missed faces (static/js/boxdraw.js)."""

from __future__ import annotations

import hashlib
from typing import NoReturn
from urllib.parse import quote

from flask import Blueprint, g, render_template, url_for
from sqlalchemy import select

from likeness.db import boxes, decisions, queue
from likeness.db.schema import images
from webapp.access import current_user, member_required, require_writable
from webapp.api import api_error, json_body
from webapp.context import config, engine
from webapp.security import rate_limit

bp = Blueprint("label", __name__)

CLASSIFY_ANSWERS = ("yes", "no", "not_face", "skip")
REFERENCE_WIDTH = 330   # a standard thumbnail step on Commons


@bp.get("/projects/<int:project_id>/label")
@member_required()
def classify(project_id: int) -> str:
    urls = {name: url_for(f"label.api_{name}", project_id=project_id)
            for name in ("next", "release", "answer", "undo", "box")}
    urls["image_faces"] = url_for("label.api_image_faces", project_id=project_id, image_id=0)
    urls["face"] = url_for("label.api_face", project_id=project_id, face_id=0)
    return render_template("label/classify.html", project=g.project, role=g.role,
                           reference=reference_photo(project_id, g.project.reference_file),
                           urls=urls)


# --- JSON API ----------------------------------------------------------------------------------

@bp.post("/api/projects/<int:project_id>/queue/next")
@member_required()
@rate_limit("label")
def api_next(project_id: int) -> dict:
    """Reserve up to ``k`` more faces for me, renewing the ones I already ``held``."""
    body = json_body()
    k = _int(body.get("k", 5), "k", 0, queue.MAX_BATCH)
    held = _ids(body.get("held", []), "held")
    with engine().begin() as conn:
        found = queue.next_faces(conn, project_id, current_user().id, k, held=held)
    return {"faces": [f.as_json() for f in found]}


@bp.post("/api/projects/<int:project_id>/queue/release")
@member_required()
def api_release(project_id: int) -> dict:
    """The page is closing: let others have my prefetched faces at once."""
    ids = _ids(json_body().get("ids", []), "ids")
    with engine().begin() as conn:
        released = queue.release(conn, current_user().id, ids)
    return {"released": released}


@bp.post("/api/projects/<int:project_id>/answers")
@member_required()
@rate_limit("label")
def api_answer(project_id: int) -> dict:
    require_writable()
    body = json_body()
    answer = body.get("answer")
    if answer not in CLASSIFY_ANSWERS:
        api_error(400, "bad_answer", f"answer must be one of {', '.join(CLASSIFY_ANSWERS)}")
    face_id = _int(body.get("face_id"), "face_id", 1, 2**31)
    try:
        with engine().begin() as conn:
            done = decisions.record(conn, project_id=project_id, face_id=face_id,
                                    user_id=current_user().id, answer=answer,
                                    via="classify", client_token=_token(body))
    except decisions.DecisionError as exc:
        decision_error(exc)
    return {"decision_id": done.decision_id, "face_id": done.face_id, "answer": done.answer,
            "label": done.label, "duplicate": done.duplicate}


@bp.post("/api/projects/<int:project_id>/undo")
@member_required()
@rate_limit("label")
def api_undo(project_id: int) -> dict:
    """Take back my latest answer in this project; the face comes back, reserved for me."""
    require_writable()
    body = json_body()
    try:
        with engine().begin() as conn:
            done = decisions.undo_latest(conn, project_id=project_id,
                                         user_id=current_user().id, client_token=_token(body))
            face = queue.face_details(conn, [done.face_id]) if done else []
    except decisions.DecisionError as exc:
        decision_error(exc)
    if done is None:
        return {"undone": None, "face": None}
    return {"undone": {"decision_id": done.decision_id, "face_id": done.face_id,
                       "label": done.label, "duplicate": done.duplicate, "held": done.held},
            "face": face[0].as_json() if face and done.held else None}


@bp.get("/api/projects/<int:project_id>/images/<int:image_id>/faces")
@member_required()
def api_image_faces(project_id: int, image_id: int) -> dict:
    with engine().connect() as conn:
        return {"faces": boxes.image_faces(conn, project_id, image_id)}


@bp.post("/api/projects/<int:project_id>/boxes")
@member_required()
@rate_limit("label")
def api_box(project_id: int) -> tuple[dict, int]:
    """A missed face (or a corrected box, with ``replaces``), as fractions of the image."""
    require_writable()
    body = json_body()
    image_id = _int(body.get("image_id"), "image_id", 1, 2**31)
    replaces = body.get("replaces")
    replaces = None if replaces is None else _int(replaces, "replaces", 1, 2**31)
    try:
        box = boxes.parse_box(body.get("box"))
        with engine().begin() as conn:
            face_id = boxes.add_box(conn, project_id=project_id, image_id=image_id,
                                    user_id=current_user().id, box=box, replaces=replaces,
                                    client_token=_token(body))
            state = boxes.box_state(conn, project_id, face_id)
    except boxes.BoxError as exc:
        status = 404 if exc.code in ("no_image", "no_face") else 422
        api_error(status, exc.code, str(exc))
    except decisions.DecisionError as exc:
        decision_error(exc)
    return state, 201


@bp.get("/api/projects/<int:project_id>/faces/<int:face_id>")
@member_required()
def api_face(project_id: int, face_id: int) -> dict:
    """A face's box and state ('encoding' until a worker has encoded a drawn box)."""
    with engine().connect() as conn:
        state = boxes.box_state(conn, project_id, face_id)
    if state is None:
        api_error(404, "not_found", "No such face in this project.")
    return state


# --- helpers -----------------------------------------------------------------------------------

def reference_photo(project_id: int, reference_file: str | None) -> dict | None:
    """Where the browser can load the person's P18 photo: the worker's thumbnail if it
    processed the file, else the upload host's standard thumbnail (and the original as a
    fallback for small files)."""
    if not reference_file:
        return None
    name = reference_file.split(":", 1)[1] if ":" in reference_file else reference_file
    with engine().connect() as conn:
        thumb = conn.execute(
            select(images.c.thumb_url).where(images.c.project_id == project_id,
                                             images.c.origin == "reference",
                                             images.c.thumb_url.is_not(None)).limit(1)
        ).scalar()
    key = name.replace(" ", "_")
    digest = hashlib.md5(key.encode("utf-8"), usedforsecurity=False).hexdigest()
    base = config().wiki.upload_host.rstrip("/") + "/wikipedia/commons"
    quoted = quote(key, safe=";@$!*(),~:")
    hashed = f"{digest[0]}/{digest[:2]}/{quoted}"
    return {
        "title": name,
        "src": thumb or f"{base}/thumb/{hashed}/{REFERENCE_WIDTH}px-{quoted}",
        "fallback": f"{base}/{hashed}",
        "page": config().wiki.commons_wiki.rstrip("/") + "/File:" + quoted,
    }


def decision_error(exc: decisions.DecisionError) -> NoReturn:
    """A refused answer: a missing face is 404, a token sent for another request 409."""
    api_error({"no_face": 404, "token_reused": 409}.get(exc.code, 400), exc.code, str(exc))


def _token(body: dict) -> str | None:
    token = body.get("token")
    if token is not None and not isinstance(token, str):
        api_error(400, "bad_token", "token must be a string")
    return token


def _int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        api_error(400, f"bad_{name}", f"{name} must be an integer from {low} to {high}")
    return value


def _ids(value: object, name: str, limit: int = 2 * queue.MAX_BATCH) -> list[int]:
    if not isinstance(value, list) or len(value) > limit:
        api_error(400, f"bad_{name}", f"{name} must be a list of at most {limit} face ids")
    return [_int(v, name, 1, 2**31) for v in value]
