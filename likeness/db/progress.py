"""Project page numbers: progress bars, the score histogram, and whether any worker is alive.

Every count is one grouped query on an index that covers it (images by status, faces by label
and score, edits by Q-id and state), so the page can poll it every few seconds on a big project.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, case, func, select

from likeness.db import edit_reports, workers
from likeness.db.schema import faces, images, model_runs, projects, utcnow
from likeness.model import stop
from likeness.model.run import LIKELY

DEFAULT_THRESHOLD = 0.5
HISTOGRAM_BINS = 20


@dataclass(frozen=True)
class Progress:
    images_total: int        # crawled: files found in the category tree
    images_processed: int    # detection finished (done, failed or not a photo)
    images_failed: int
    faces_total: int         # active faces (not replaced boxes)
    faces_labelled: int      # a human answered yes, no or not a face
    faces_positive: int      # label yes: confirmed by a person or approved in review
    faces_proposed: int      # unlabelled, score at or above the threshold
    edits_total: int
    edits_written: int       # done or already on Commons
    edits_failed: int
    threshold: float

    def as_json(self) -> dict:
        return asdict(self)


def threshold(conn: Connection, project_id: int) -> float:
    """The owner's threshold, else the latest model run's calibrated one, else 0.5."""
    own = conn.execute(select(projects.c.threshold).where(projects.c.id == project_id)).scalar()
    if own is not None:
        return float(own)
    calibrated = conn.execute(
        select(model_runs.c.threshold).where(model_runs.c.project_id == project_id)
        .order_by(model_runs.c.id.desc()).limit(1)).scalar()
    return float(calibrated) if calibrated is not None else DEFAULT_THRESHOLD


def grid_floor(conn: Connection, project_id: int) -> float:
    """Unlabelled faces scoring at least this are shown in the confirmation grid: the likely
    ones (model stored scores fold one face per image below it), and every proposal."""
    return min(threshold(conn, project_id), LIKELY)


def progress(conn: Connection, project_id: int) -> Progress:
    cut = threshold(conn, project_id)
    by_status: dict[str, int] = dict(conn.execute(
        select(images.c.status, func.count()).where(images.c.project_id == project_id)
        .group_by(images.c.status)).all())
    # Grouped by label on ix_faces_project_score; replaced/encoding boxes are few, so counting
    # them out by state after grouping is not needed for the bars.
    face_rows = conn.execute(
        select(faces.c.label,
               func.count(),
               func.sum(case((faces.c.score >= cut, 1), else_=0)))
        .where(faces.c.project_id == project_id)
        .group_by(faces.c.label)).all()
    by_label = {row[0]: (int(row[1]), int(row[2] or 0)) for row in face_rows}
    # Every edit the project's faces back, also those another project on the person queued.
    qid = conn.execute(select(projects.c.qid).where(projects.c.id == project_id)).scalar()
    by_edit = edit_reports.counts(conn, project_id, qid) if qid else {}
    removed = by_edit.pop("removed", 0)
    by_edit.pop("elsewhere", None)
    processed = sum(by_status.get(s, 0) for s in ("done", "failed", "skipped"))
    return Progress(
        images_total=sum(by_status.values()),
        images_processed=processed,
        images_failed=by_status.get("failed", 0),
        faces_total=sum(n for n, _ in by_label.values()),
        faces_labelled=sum(n for label, (n, _) in by_label.items() if label is not None),
        faces_positive=by_label.get("yes", (0, 0))[0],
        faces_proposed=by_label.get(None, (0, 0))[1],
        edits_total=sum(by_edit.values()),
        edits_written=by_edit.get("done", 0) - removed + by_edit.get("skipped", 0),
        edits_failed=by_edit.get("failed", 0),
        threshold=cut,
    )


@dataclass(frozen=True)
class StopSignal:
    """What the classify and project pages say about the work left (see likeness.model.stop)."""

    found: int               # faces a person confirmed (label yes)
    proposed: int            # proposals waiting for a person's confirmation
    uncertain: int | None    # faces the model is unsure about; None before any model run
    left_low: int | None     # "about left_low-left_high target faces not found yet"
    left_high: int | None
    done: bool               # further questions are unlikely to find more

    def as_json(self) -> dict:
        return asdict(self)


def work_left(run: Any) -> stop.StopEstimate | None:
    """The stop estimate of a model_runs row (None before the first run, or a run without)."""
    if run is None or None in (run.n_uncertain, run.expected_left, run.expected_next):
        return None
    return stop.StopEstimate(int(run.n_uncertain), float(run.expected_left),
                             float(run.expected_next))


def is_done(conn: Connection, project_id: int) -> bool:
    """Whether the latest model run says further answers are unlikely to find more."""
    latest = work_left(conn.execute(
        select(model_runs.c.n_uncertain, model_runs.c.expected_left, model_runs.c.expected_next)
        .where(model_runs.c.project_id == project_id)
        .order_by(model_runs.c.id.desc()).limit(1)).first())
    return latest is not None and latest.done


def stop_signal(p: Progress, latest: stop.StopEstimate | None) -> StopSignal:
    """The latest run's estimate, never more than the faces still unanswered (answers given
    since that run are not in its counts yet)."""
    if latest is None:
        return StopSignal(p.faces_positive, p.faces_proposed, None, None, None, False)
    open_faces = max(p.faces_total - p.faces_labelled, 0)
    low, high = (min(n, open_faces) for n in stop.left_range(latest.expected_left))
    return StopSignal(p.faces_positive, p.faces_proposed, min(latest.n_uncertain, open_faces),
                      low, high, latest.done)


def score_histogram(conn: Connection, project_id: int,
                    bins: int = HISTOGRAM_BINS) -> dict[str, list[int]]:
    """Counts of scored faces per score bin for positives, negatives and unlabelled faces.

    Bin i holds scores in [i/bins, (i+1)/bins); a score of exactly 1 goes in the last bin.
    """
    bin_of = func.floor(faces.c.score * bins)
    rows = conn.execute(
        select(faces.c.label, bin_of.label("bin"), func.count())
        .where(faces.c.project_id == project_id, faces.c.score.is_not(None))
        .group_by(faces.c.label, bin_of)).all()
    result = {"positive": [0] * bins, "negative": [0] * bins, "unlabelled": [0] * bins}
    names = {"yes": "positive", "no": "negative", None: "unlabelled"}
    for label, index, count in rows:
        name = names.get(label)
        if name is None:      # not_face answers are no evidence about the person
            continue
        result[name][min(max(int(index), 0), bins - 1)] += int(count)
    return result


@dataclass(frozen=True)
class WorkerStatus:
    latest_heartbeat: dt.datetime | None
    alive: bool


def worker_status(conn: Connection, stale_seconds: int,
                  now: dt.datetime | None = None) -> WorkerStatus:
    """Whether any worker has a fresh heartbeat (else the page shows a banner)."""
    latest = workers.latest_heartbeat(conn)
    now = now or utcnow()
    alive = latest is not None and (now - latest).total_seconds() <= stale_seconds
    return WorkerStatus(latest, alive)
