"""Classify: one face at a time, keyboard first. The page is static; static/js/classify.js asks
the JSON API below for faces (reserved for this user), sends answers and undos with a client
token (retries record once), and draws missed faces (static/js/boxdraw.js). When the model has
proposals it shows them as a grid page first (static/js/grid.js): "Are these all <person>?",
one POST for the page, one undo takes the page back (likeness.db.grid)."""

from __future__ import annotations

from flask import Blueprint, g, render_template, url_for

from likeness.db import boxes, decisions, grid, queue
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
            for name in ("next", "release", "answer", "undo", "box", "grid_next", "grid")}
    urls["progress"] = url_for("progress.api_progress", project_id=project_id)
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
    """Reserve up to ``k`` more faces for me, renewing the ones I already ``held``. Once the
    model says it is done, faces it finds unlikely come only with ``more: true``."""
    require_labelling()
    body = json_body()
    k = int_value(body.get("k", 5), "k", 0, queue.MAX_BATCH)
    held = id_list(body.get("held", []), "held", HELD_LIMIT)
    more = body.get("more", False)
    if not isinstance(more, bool):
        api_error(400, "bad_more", "more must be true or false")
    with engine().begin() as conn:
        found = queue.next_faces(conn, project_id, current_user().id, k, held=held,
                                 include_unlikely=more)
    return {"faces": [f.as_json() for f in found]}


@bp.post("/api/projects/<int:project_id>/grid/next")
@member_required()
@rate_limit("label")
def api_grid_next(project_id: int) -> dict:
    """Reserve up to ``k`` of the model's proposals for a grid page, best first (none if fewer
    than ``min`` are free for me), renewing the faces I already ``held``."""
    require_labelling()
    body = json_body()
    k = int_value(body.get("k", grid.DEFAULT_K), "k", 0, grid.MAX_K)
    at_least = int_value(body.get("min", 1), "min", 1, grid.MAX_K)
    held = id_list(body.get("held", []), "held", grid.HELD_LIMIT)
    with engine().begin() as conn:
        found = grid.proposals_for(conn, project_id, current_user().id, k, held=held,
                                   at_least=at_least)
    return {"faces": [f.as_json() for f in found], "label": g.project.label}


@bp.post("/api/projects/<int:project_id>/grid")
@member_required()
@rate_limit("label")
def api_grid(project_id: int) -> dict:
    """Answer a grid page: yes for every face in ``confirm``, no for every face in ``reject``
    (idempotent per page ``token``)."""
    require_labelling()
    body = json_body()
    confirm = id_list(body.get("confirm", []), "confirm", grid.MAX_K)
    reject = id_list(body.get("reject", []), "reject", grid.MAX_K)
    token = client_token(body)
    if not token or len(token) > 40 or ":" in token:
        api_error(400, "bad_token", "token must be 1-40 characters without ':'")
    if not confirm and not reject:
        api_error(400, "empty_page", "send at least one face in confirm or reject")
    try:
        with engine().begin() as conn:
            counts = grid.submit(conn, project_id, current_user().id, confirm=confirm,
                                 reject=reject, client_token=token)
    except decisions.DecisionError as exc:
        decision_error(exc)
    return counts


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
    """Take back my latest answer in this project; the face comes back, reserved for me. When
    that answer came from a grid page, the whole page is taken back and its faces come back."""
    require_labelling()
    body = json_body()
    try:
        with engine().begin() as conn:
            undone = decisions.undo_page(conn, project_id=project_id,
                                         user_id=current_user().id,
                                         client_token=client_token(body))
            shown = queue.face_details(conn, [d.face_id for d in undone if d.held])
    except decisions.DecisionError as exc:
        decision_error(exc)
    if not undone:
        return {"undone": None, "face": None, "page": None}
    entries = [{"decision_id": d.decision_id, "face_id": d.face_id, "label": d.label,
                "duplicate": d.duplicate, "held": d.held} for d in undone]
    if undone[0].page:
        return {"undone": entries[0], "face": None,
                "page": {"undone": entries, "faces": [f.as_json() for f in shown]}}
    return {"undone": entries[0], "face": shown[0].as_json() if shown else None, "page": None}


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
