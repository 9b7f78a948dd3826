"""What a model run reads and writes: a project's faces as arrays, and the run's results.

Encodings come from the detections the faces refer to (shared between projects that include the
same file). Only human answers train (faces.label is derived from decisions); seeds are
provisional and train nothing; the shared prior is human-confirmed faces of the same Q-id from
other projects that opted in. Scores and priorities are written in batches so a big project never
holds one huge transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, exists, func, insert, select, update

from likeness.db.decisions import LABEL_OF
from likeness.db.schema import (
    decisions,
    detections,
    faces,
    inserted_id,
    model_runs,
    projects,
    utcnow,
)
from likeness.model.encodings import stack
from likeness.model.run import RunResult

WRITE_BATCH = 5000
PROPOSAL_SCREENS = ("grid", "review")   # screens that show faces for their high score
MAX_SHARED = 500


@dataclass(frozen=True)
class ProjectFaces:
    face_ids: np.ndarray      # (N,) int64
    image_ids: np.ndarray     # (N,) int64
    encodings: np.ndarray     # (N, 128) float32
    labels: list[str | None]  # faces.label per face
    seed_mask: np.ndarray     # (N,) bool: provisional positives (source='seed')
    random_asked: np.ndarray  # (N,) bool: answered faces that were asked as random picks
    fit_mask: np.ndarray      # (N,) bool: answered faces whose answer may fit the weights

    def __len__(self) -> int:
        return len(self.face_ids)


def load_faces(conn: Connection, project_id: int) -> ProjectFaces:
    """Every active, encoded face of the project, in id order."""
    rows = conn.execute(
        select(faces.c.id, faces.c.image_id, detections.c.encoding, faces.c.label,
               faces.c.source, faces.c.asked_at_random)
        .join(detections, detections.c.id == faces.c.detection_id)
        .where(faces.c.project_id == project_id, faces.c.state == "active",
               detections.c.encoding.is_not(None))
        .order_by(faces.c.id)).all()
    chosen_high = answered_as_proposals(conn, project_id)
    return ProjectFaces(
        face_ids=np.array([r.id for r in rows], np.int64),
        image_ids=np.array([r.image_id for r in rows], np.int64),
        encodings=stack(r.encoding for r in rows),
        labels=[r.label for r in rows],
        seed_mask=np.array([r.source == "seed" for r in rows], bool),
        random_asked=np.array([bool(r.asked_at_random and r.label) for r in rows], bool),
        fit_mask=np.array([r.label is not None and r.id not in chosen_high for r in rows], bool),
    )


def answered_as_proposals(conn: Connection, project_id: int) -> set[int]:
    """Faces whose current label comes from a grid or review answer: shown because the model
    scored them high, so their answers must not fit its weights (see classifier.train)."""
    undo = decisions.alias("u")
    shown = select(decisions.c.face_id).where(decisions.c.project_id == project_id,
                                              decisions.c.via.in_(PROPOSAL_SCREENS))
    latest: dict[int, str] = {}
    for face_id, via in conn.execute(
            select(decisions.c.face_id, decisions.c.via)
            .where(decisions.c.project_id == project_id, decisions.c.face_id.in_(shown),
                   decisions.c.answer.in_(tuple(LABEL_OF)),
                   ~exists().where((undo.c.undoes_id == decisions.c.id)
                                   & (undo.c.answer == "undo")))
            .order_by(decisions.c.id)):
        latest[face_id] = via
    return {face for face, via in latest.items() if via in PROPOSAL_SCREENS}


def shared_prior(conn: Connection, project_id: int, limit: int = MAX_SHARED) -> np.ndarray:
    """Human-confirmed encodings of the same person from other opted-in projects."""
    me = conn.execute(select(projects.c.qid, projects.c.share_knowledge)
                      .where(projects.c.id == project_id)).first()
    if me is None or not me.share_knowledge:
        return stack([])
    others = select(projects.c.id).where(projects.c.qid == me.qid,
                                         projects.c.share_knowledge.is_(True),
                                         projects.c.id != project_id)
    rows = conn.execute(
        select(detections.c.encoding).join(detections, detections.c.id == faces.c.detection_id)
        .where(faces.c.project_id.in_(others), faces.c.label == "yes",
               faces.c.source != "seed", faces.c.state == "active",
               detections.c.encoding.is_not(None))
        .order_by(faces.c.id.desc()).limit(limit)).scalars()
    return stack(rows)


def last_decision_id(conn: Connection, project_id: int) -> int:
    return conn.execute(select(func.coalesce(func.max(decisions.c.id), 0))
                        .where(decisions.c.project_id == project_id)).scalar_one()


def latest_run(conn: Connection, project_id: int) -> Any:
    """The project's newest model_runs row, without the serialised model (read by every
    progress poll, which needs only its counts and estimates)."""
    columns = [c for c in model_runs.c if c.name != "params"]
    return conn.execute(select(*columns).where(model_runs.c.project_id == project_id)
                        .order_by(model_runs.c.id.desc()).limit(1)).first()


def has_unscored_faces(conn: Connection, project_id: int) -> bool:
    """New encoded faces that no model run has scored yet."""
    return conn.execute(select(faces.c.id).where(
        faces.c.project_id == project_id, faces.c.state == "active",
        faces.c.detection_id.is_not(None), faces.c.model_run_id.is_(None)).limit(1)
    ).first() is not None


def record_run(conn: Connection, project_id: int, *, last_decision: int,
               result: RunResult) -> int:
    """A model_runs row for one run (None columns while there is no model yet)."""
    model, left = result.model, result.work_left
    return inserted_id(conn.execute(insert(model_runs).values(
        project_id=project_id, last_decision_id=last_decision,
        n_positive=model.n_positive if model else 0,
        n_negative=model.n_negative if model else 0,
        n_shared=model.n_shared if model else 0,
        threshold=model.threshold if model else None,
        precision_estimate=model.precision_estimate if model else None,
        recall_estimate=model.recall_estimate if model else None,
        params=model.to_bytes() if model else None,
        n_uncertain=left.n_uncertain if left else None,
        expected_left=left.expected_left if left else None,
        expected_next=left.expected_next if left else None,
        duration_ms=result.duration_ms, created_at=utcnow())))


def write_scores(conn: Connection, run_id: int, data: ProjectFaces, scores: list[float | None],
                 priorities: list[float | None], random_pick: np.ndarray) -> None:
    """Set score, priority and model run of each face (labels are never touched here).

    Only unanswered faces get the random-pick flag: an answer freezes what it was when asked.
    """
    open_rows, answered_rows = [], []
    for i, face_id in enumerate(data.face_ids):
        row = {"face": int(face_id), "s": scores[i], "p": priorities[i]}
        if data.labels[i] is None:
            open_rows.append({**row, "r": bool(random_pick[i])})
        else:
            answered_rows.append(row)
    where = faces.c.id == bindparam("face")
    values = {"score": bindparam("s"), "priority": bindparam("p"), "model_run_id": run_id}
    for statement, rows in ((update(faces).where(where).values(
                                 **values, asked_at_random=bindparam("r")), open_rows),
                            (update(faces).where(where).values(**values), answered_rows)):
        for start in range(0, len(rows), WRITE_BATCH):
            conn.execute(statement, rows[start:start + WRITE_BATCH])
