"""The review grid: model proposals least certain first, filters, and page approve/reject.

Only faces whose label is 'yes' -- confirmed by a person in classify, drawn by a person, or
approved in review -- are edit candidates (``edit_candidates``); a model score alone never is.
``record_page`` answers a page of faces at once; the classify page's grid pages use it too
(likeness.db.grid).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, select

from likeness.db import decisions
from likeness.db.progress import threshold
from likeness.db.schema import edits, faces, images

SOURCES = ("model", "seed", "human")
EDIT_STATES = ("any", "none", "pending", "done", "failed")
PAGE_SIZE = 24


@dataclass(frozen=True)
class ReviewFace:
    id: int
    image_id: int
    box: tuple[float, float, float, float]
    score: float | None
    source: str
    label: str | None
    title: str
    thumb_url: str | None
    edit_state: str | None

    def as_json(self) -> dict:
        return {
            "id": self.id, "image_id": self.image_id,
            "box": dict(zip(("left", "top", "width", "height"), self.box, strict=True)),
            "score": self.score, "source": self.source, "label": self.label,
            "title": self.title, "thumb_url": self.thumb_url, "edit_state": self.edit_state,
        }


def grid(conn: Connection, project_id: int, *, source: str = "model", edit_state: str = "any",
         limit: int = PAGE_SIZE, offset: int = 0) -> list[ReviewFace]:
    """One page of the review grid.

    source: model = unlabelled faces the model proposes (score >= threshold, not seeds);
    seed = unlabelled provisional seeds; human = faces labelled yes (confirmed or approved).
    Least certain first: the lowest scores above the threshold are the likeliest mistakes.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    if edit_state not in EDIT_STATES:
        raise ValueError(f"edit_state must be one of {EDIT_STATES}")
    where = [faces.c.project_id == project_id, faces.c.state == "active"]
    if source == "model":
        where += [faces.c.label.is_(None), faces.c.source != "seed",
                  faces.c.score >= threshold(conn, project_id)]
    elif source == "seed":
        where += [faces.c.label.is_(None), faces.c.source == "seed"]
    else:
        where += [faces.c.label == "yes"]
    if edit_state == "none":
        where.append(edits.c.id.is_(None))
    elif edit_state == "pending":
        where.append(edits.c.state.in_(("pending", "sending")))
    elif edit_state != "any":
        where.append(edits.c.state == edit_state)
    query = (
        select(faces.c.id, faces.c.image_id, faces.c.box_left, faces.c.box_top,
               faces.c.box_width, faces.c.box_height, faces.c.score, faces.c.source,
               faces.c.label, images.c.title, images.c.thumb_url,
               edits.c.state.label("edit_state"))
        .join(images, images.c.id == faces.c.image_id)
        .outerjoin(edits, edits.c.face_id == faces.c.id)
        .where(and_(*where))
        .order_by(faces.c.score, faces.c.id)
        .limit(max(1, min(limit, 100))).offset(max(0, offset))
    )
    return [
        ReviewFace(row.id, row.image_id,
                   (row.box_left, row.box_top, row.box_width, row.box_height),
                   row.score, row.source, row.label, row.title, row.thumb_url, row.edit_state)
        for row in conn.execute(query)
    ]


def submit_page(conn: Connection, project_id: int, user_id: int, *,
                approve: Sequence[int], reject: Sequence[int],
                client_token: str) -> dict[str, int]:
    """Approve and reject the faces of one page in one transaction; idempotent per token."""
    done = record_page(conn, project_id, user_id, accept=approve, reject=reject,
                       answers=("approve", "reject"), via="review", client_token=client_token)
    return {"approved": done["accepted"], "rejected": done["rejected"],
            "duplicates": done["duplicates"]}


def record_page(conn: Connection, project_id: int, user_id: int, *,
                accept: Sequence[int], reject: Sequence[int], answers: tuple[str, str],
                via: str, client_token: str) -> dict[str, int]:
    """Record ``answers[0]`` for the faces in ``accept`` and ``answers[1]`` for those in
    ``reject``, in the caller's transaction, each with the token ``"<client_token>:<face id>"``.

    Idempotent per page token: sent again with the same faces and answers, nothing new is
    recorded (all count as duplicates); sent with other faces or answers it is refused
    (``token_reused``), as is a face in both lists (``conflict``).
    """
    overlap = set(accept) & set(reject)
    if overlap:
        raise decisions.DecisionError("conflict", f"faces both accepted and rejected: {overlap}")
    wanted = {int(f): answers[0] for f in accept} | {int(f): answers[1] for f in reject}
    decisions.check_token(client_token)
    if ":" in client_token:
        raise decisions.DecisionError("bad_token", "a page token may not contain ':'")
    if wanted:
        decisions.check_token(f"{client_token}:{max(wanted)}")
    earlier = decisions.by_page_token(conn, user_id, f"{client_token}:")
    if earlier and ({r.face_id: r.answer for r in earlier} != wanted
                    or any(r.project_id != project_id or r.via != via for r in earlier)):
        raise decisions.DecisionError(
            "token_reused", "This page token was already used for another page; send each "
                            "page with a new token.")
    counts = {"accepted": 0, "rejected": 0, "duplicates": 0}
    for answer, ids, key in ((answers[0], accept, "accepted"), (answers[1], reject, "rejected")):
        for face_id in ids:
            recorded = decisions.record(
                conn, project_id=project_id, face_id=int(face_id), user_id=user_id,
                answer=answer, via=via, client_token=f"{client_token}:{int(face_id)}")
            counts["duplicates" if recorded.duplicate else key] += 1
    return counts


def edit_candidates(conn: Connection, project_id: int) -> list[int]:
    """Faces that may become edits: labelled yes by a person (classify, box or review)."""
    return list(conn.execute(
        select(faces.c.id).where(faces.c.project_id == project_id, faces.c.label == "yes",
                                 faces.c.state == "active").order_by(faces.c.id)).scalars())
