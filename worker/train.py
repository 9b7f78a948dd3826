"""The ``train`` job: retrain a project's model on its human answers and re-score every face.

Queued after answers (web) and after new faces (worker); one open job per project. Training
reads a snapshot, computes outside any transaction, and writes scores in batches; if answers
or faces arrived meanwhile it asks to run again.
"""

from __future__ import annotations

import logging
from typing import Any

from likeness.db import jobs, training
from likeness.db.jobs import Job
from likeness.model import run as model_run
from likeness.model.run import labels_from_strings, nullable
from worker.context import WorkerContext

log = logging.getLogger("likeness.worker.train")
RERUN_AFTER_SECONDS = int(jobs.RETRAIN_SOON.total_seconds())


def run(ctx: WorkerContext, job: Job) -> dict[str, Any]:
    project_id = job.project_id
    if project_id is None:  # queued for a project always; its deletion deletes the job
        return {"skipped": "no project"}
    with ctx.engine.connect() as conn:
        last_decision = training.last_decision_id(conn, project_id)
        previous = training.latest_run(conn, project_id)
        if (previous is not None and previous.last_decision_id == last_decision
                and not job.payload.get("force")
                and not training.has_unscored_faces(conn, project_id)):
            return {"skipped": "no new answers or faces"}
        data = training.load_faces(conn, project_id)
        prior = training.shared_prior(conn, project_id)
    ctx.beat("busy", f"train project {project_id}")
    result = model_run.run(data.encodings, data.image_ids, labels_from_strings(data.labels),
                           prior, seed_mask=data.seed_mask, random_asked=data.random_asked,
                           fit_mask=data.fit_mask)
    with ctx.engine.begin() as conn:
        run_id = training.record_run(conn, project_id, last_decision=last_decision,
                                     result=result)
        training.write_scores(conn, run_id, data, nullable(result.stored_scores),
                              nullable(result.priority), result.random_pick)
    log.info("model trained", extra={"project": project_id, "run": run_id,
                                     "faces": len(data), "ms": result.duration_ms,
                                     "worker": ctx.id})
    outcome: dict[str, Any] = {"run": run_id, "faces": len(data),
                               "proposed": int(result.proposed.sum())}
    with ctx.engine.connect() as conn:
        if (training.last_decision_id(conn, project_id) != last_decision
                or training.has_unscored_faces(conn, project_id)):
            outcome["rerun_after"] = RERUN_AFTER_SECONDS
    return outcome
