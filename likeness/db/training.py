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
from sqlalchemy import Connection, bindparam, func, insert, select, update

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

WRITE_BATCH = 5000
MAX_SHARED = 500


@dataclass(frozen=True)
class ProjectFaces:
    face_ids: np.ndarray      # (N,) int64
    image_ids: np.ndarray     # (N,) int64
    encodings: np.ndarray     # (N, 128) float32
    labels: list[str | None]  # faces.label per face
    seed_mask: np.ndarray     # (N,) bool: provisional positives (source='seed')
    random_asked: np.ndarray  # (N,) bool: answered faces that were asked as random picks

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
    return ProjectFaces(
        face_ids=np.array([r.id for r in rows], np.int64),
        image_ids=np.array([r.image_id for r in rows], np.int64),
        encodings=stack(r.encoding for r in rows),
        labels=[r.label for r in rows],
        seed_mask=np.array([r.source == "seed" for r in rows], bool),
        random_asked=np.array([bool(r.asked_at_random and r.label) for r in rows], bool),
    )


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
    return conn.execute(select(model_runs).where(model_runs.c.project_id == project_id)
                        .order_by(model_runs.c.id.desc()).limit(1)).first()


def has_unscored_faces(conn: Connection, project_id: int) -> bool:
    """New encoded faces that no model run has scored yet."""
    return conn.execute(select(faces.c.id).where(
        faces.c.project_id == project_id, faces.c.state == "active",
        faces.c.detection_id.is_not(None), faces.c.model_run_id.is_(None)).limit(1)
    ).first() is not None


def record_run(conn: Connection, project_id: int, *, last_decision: int, n_positive: int,
               n_negative: int, n_shared: int, threshold: float | None,
               precision: float | None, recall: float | None, params: bytes | None,
               duration_ms: int) -> int:
    return inserted_id(conn.execute(insert(model_runs).values(
        project_id=project_id, last_decision_id=last_decision, n_positive=n_positive,
        n_negative=n_negative, n_shared=n_shared, threshold=threshold,
        precision_estimate=precision, recall_estimate=recall, params=params,
        duration_ms=duration_ms, created_at=utcnow())))


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
