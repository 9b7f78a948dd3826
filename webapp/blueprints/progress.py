"""Project progress: bars (crawled, processed, labelled, proposed, approved, written), the score
histogram with the threshold, the stop signal (faces still uncertain, about how many not found
yet, done for now) and the 'no worker running' banner. The partial
templates/project/_progress.html renders them server-side; static/js/progress.js polls the API
below and updates them in place."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template

from likeness.db import progress as progress_db
from likeness.db import training
from webapp.access import member_required
from webapp.context import config, engine

bp = Blueprint("progress", __name__)


def snapshot(project_id: int) -> dict:
    """Everything the progress partial shows, as JSON-ready values."""
    with engine().connect() as conn:
        bars = progress_db.progress(conn, project_id)
        histogram = progress_db.score_histogram(conn, project_id)
        worker = progress_db.worker_status(conn, config().worker.heartbeat_stale_seconds)
        run = training.latest_run(conn, project_id)
    return {
        "model": model_summary(run),
        "progress": bars.as_json(),
        "bars": bar_rows(bars),
        "histogram": histogram,
        "stop": progress_db.stop_signal(bars, progress_db.work_left(run)).as_json(),
        "worker": {"alive": worker.alive,
                   "latest_heartbeat": worker.latest_heartbeat.isoformat() + "Z"
                   if worker.latest_heartbeat else None},
    }


def model_summary(run: Any) -> dict | None:
    """What the owner needs to judge the model: its answers, threshold and estimates."""
    if run is None or run.threshold is None:
        return None
    return {"positives": run.n_positive, "negatives": run.n_negative, "shared": run.n_shared,
            "threshold": run.threshold, "precision": run.precision_estimate,
            "recall": run.recall_estimate, "trained_at": run.created_at.isoformat() + "Z"}


def bar_rows(p: progress_db.Progress) -> list[dict]:
    """Each bar: a key, its count and what it is counted out of."""
    unlabelled = max(p.faces_total - p.faces_labelled, 0)
    return [
        {"key": "crawled", "value": p.images_total, "max": p.images_total},
        {"key": "processed", "value": p.images_processed, "max": p.images_total},
        {"key": "labelled", "value": p.faces_labelled, "max": p.faces_total},
        {"key": "proposed", "value": p.faces_proposed, "max": unlabelled},
        {"key": "approved", "value": p.faces_positive,
         "max": p.faces_positive + p.faces_proposed},
        {"key": "written", "value": p.edits_written, "max": p.edits_total},
    ]


@bp.get("/projects/<int:project_id>/progress")
@member_required()
def page(project_id: int) -> str:
    return render_template("label/progress.html", project=g.project, role=g.role,
                           snap=snapshot(project_id))


@bp.get("/api/projects/<int:project_id>/progress")
@member_required()
def api_progress(project_id: int) -> dict:
    return snapshot(project_id)
