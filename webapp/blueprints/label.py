"""Classify: one face at a time, keyboard first. The page is static; static/js/classify.js asks
the JSON API below for faces (reserved for this user), sends answers and undos with a client
token (retries record once), and draws missed faces (static/js/boxdraw.js)."""

from __future__ import annotations

from flask import Blueprint, g, render_template, url_for

from likeness.db import boxes, decisions, queue
from likeness.db.images import reference_thumb_url
from likeness.wiki.titles import file_title, page_url, upload_urls
from webapp import rights
from webapp.access import current_user, member_required, require_labelling
from webapp.api import api_error, client_token, decision_error, id_list, int_value, json_body
from webapp.context import config, engine
from webapp.security import rate_limit

bp = Blueprint("label", __name__)

CLASSIFY_ANSWERS = ("yes", "no", "not_face", "skip")
REFERENCE_WIDTH = 330   # a standard thumbnail step on Commons
HELD_LIMIT = 2 * queue.MAX_BATCH  # faces one page may hold (shown, prefetched, being answered)


@bp.get("/projects/<int:project_id>/label")
@member_required()
def classify(project_id: int) -> str:
    rights.refresh()   # a blocked account, or one that may not edit, is told before labelling
    urls = {name: url_for(f"label.api_{name}", project_id=project_id)
            for name in ("next", "release", "answer", "undo", "box")}
    urls["image_faces"] = url_for("label.api_image_faces", project_id=project_id, image_id=0)
    urls["face"] = url_for("label.api_face", project_id=project_id, face_id=0)
    return render_template("label/classify.html", project=g.project, role=g.role,
                           reference=reference_photo(project_id, g.project.reference_file),
                           urls=urls, commons_wiki=config().wiki.commons_wiki)


# --- JSON API ----------------------------------------------------------------------------------

@bp.post("/api/projects/<int:project_id>/queue/next")
@member_required()
@rate_limit("label")
def api_next(project_id: int) -> dict:
    """Reserve up to ``k`` more faces for me, renewing the ones I already ``held``."""
    require_labelling()
    body = json_body()
    k = int_value(body.get("k", 5), "k", 0, queue.MAX_BATCH)
    held = id_list(body.get("held", []), "held", HELD_LIMIT)
    with engine().begin() as conn:
        found = queue.next_faces(conn, project_id, current_user().id, k, held=held)
    return {"faces": [f.as_json() for f in found]}


@bp.post("/api/projects/<int:project_id>/queue/release")
@member_required()
def api_release(project_id: int) -> dict:
    """The page is closing: let others have my prefetched faces at once."""
    ids = id_list(json_body().get("ids", []), "ids", HELD_LIMIT)
    with engine().begin() as conn:
        released = queue.release(conn, current_user().id, ids)
    return {"released": released}


@bp.post("/api/projects/<int:project_id>/answers")
@member_required()
@rate_limit("label")
def api_answer(project_id: int) -> dict:
    require_labelling()
    body = json_body()
    answer = body.get("answer")
    if answer not in CLASSIFY_ANSWERS:
        api_error(400, "bad_answer", f"answer must be one of {', '.join(CLASSIFY_ANSWERS)}")
    face_id = int_value(body.get("face_id"), "face_id", 1, 2**31)
    try:
        with engine().begin() as conn:
            done = decisions.record(conn, project_id=project_id, face_id=face_id,
                                    user_id=current_user().id, answer=answer,
                                    via="classify", client_token=client_token(body))
    except decisions.DecisionError as exc:
        decision_error(exc)
    return {"decision_id": done.decision_id, "face_id": done.face_id, "answer": done.answer,
            "label": done.label, "duplicate": done.duplicate}


@bp.post("/api/projects/<int:project_id>/undo")
@member_required()
@rate_limit("label")
def api_undo(project_id: int) -> dict:
    """Take back my latest answer in this project; the face comes back, reserved for me."""
    require_labelling()
    body = json_body()
    try:
        with engine().begin() as conn:
            done = decisions.undo_latest(conn, project_id=project_id,
                                         user_id=current_user().id, client_token=client_token(body))
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
    require_labelling()
    body = json_body()
    image_id = int_value(body.get("image_id"), "image_id", 1, 2**31)
    replaces = body.get("replaces")
    replaces = None if replaces is None else int_value(replaces, "replaces", 1, 2**31)
    try:
        box = boxes.parse_box(body.get("box"))
        with engine().begin() as conn:
            face_id = boxes.add_box(conn, project_id=project_id, image_id=image_id,
                                    user_id=current_user().id, box=box, replaces=replaces,
                                    client_token=client_token(body),
                                    answer=body.get("answer", "yes"))
            state = boxes.box_state(conn, project_id, face_id)
            assert state is not None  # add_box wrote the face in this transaction
    except boxes.BoxError as exc:
        status = {"no_image": 404, "no_face": 404, "bad_answer": 400}.get(exc.code, 422)
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
    title = file_title(reference_file)
    with engine().connect() as conn:
        thumb = reference_thumb_url(conn, project_id)
    upload_thumb, original = upload_urls(config().wiki.upload_host, title, REFERENCE_WIDTH)
    return {"title": title.split(":", 1)[1], "src": thumb or upload_thumb,
            "fallback": original, "page": page_url(config().wiki.commons_wiki, title)}
