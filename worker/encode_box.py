"""The ``encode_box`` job: encode a box a person drew, in the face pool, never in the web app.

The face row waits with ``state='encoding'`` and no encoding. We fetch the image (the thumbnail
its faces were found on, or a fresh one from imageinfo), encode exactly the box (fractions of
the image, so any width gives the same region) and fill the encoding in. A failure that may pass
is retried by the job runner with backoff; a final one marks the face ``error`` and the job
keeps the message.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from likeness.db import claims, faces_store
from likeness.db.faces_store import BoxRequest
from likeness.db.jobs import Job
from likeness.db.schema import jobs as job_table
from likeness.faces.types import Box, BoxError, DetectResult, EncodeBoxTask, ImageError
from likeness.wiki.errors import RetryLater as WikiRetryLater
from likeness.wiki.errors import WikiError, classify
from worker.download import DownloadError
from worker.jobs import RetryLater
from worker.outcomes import Failure, RetryPolicy, from_image_error
from worker.process import ImageProcessor, enqueue_train
from worker.ticker import Ticker
from worker.wiki import image_infos

if TYPE_CHECKING:
    from worker.main import Worker

log = logging.getLogger("likeness.worker.encode_box")


class BoxFailed(Exception):
    """The box cannot be encoded; the face is marked 'error' and the job fails with this."""


class EncodeBoxJob:
    def __init__(self, worker: Worker, processor: ImageProcessor) -> None:
        self.worker = worker
        self.processor = processor
        cfg = worker.cfg.worker
        self.policy = RetryPolicy(cfg.max_attempts, cfg.retry_base_seconds)

    def __call__(self, job: Job) -> dict[str, Any]:
        if job.face_id is None:
            raise BoxFailed("encode_box job without a face")
        with self.worker.engine.begin() as conn:
            request = faces_store.pending_box(conn, job.face_id)
        if request is None:
            return {"skipped": "the face no longer waits for an encoding"}
        lease = self.worker.cfg.worker.lease_seconds
        ticker = Ticker(self.worker, f"encode box {job.face_id}",
                        renew=lambda conn: claims.renew(conn, job_table, [job.id],
                                                        self.worker.id, lease))
        outcome = self._encode(request, ticker)
        if isinstance(outcome, bytes):
            with self.worker.engine.begin() as conn:
                stored = faces_store.set_box_encoding(conn, request.face_id, outcome)
                if stored:
                    enqueue_train(conn, request.project_id)
            return {"face": request.face_id, "encoded": stored}
        if outcome.retryable and job.attempts < self.policy.max_attempts:
            delay = max(self.policy.backoff(job.attempts), outcome.retry_after or 0.0)
            raise RetryLater(str(outcome), delay)
        with self.worker.engine.begin() as conn:
            faces_store.fail_box(conn, request.face_id)
        raise BoxFailed(str(outcome))

    def _encode(self, request: BoxRequest, ticker: Ticker) -> bytes | Failure:
        try:
            box = Box(*request.box)
        except BoxError as exc:
            return Failure("bad_box", str(exc), False)
        try:
            data = self._image_bytes(request, ticker)
        except DownloadError as exc:
            return exc.failure
        except WikiError as exc:
            outcome = classify(exc, oauth=False)
            wait = outcome.seconds if isinstance(outcome, WikiRetryLater) else None
            return Failure("api_error", f"imageinfo: {exc}", True, wait)
        if isinstance(data, Failure):
            return data
        result = self.processor.pool.run(
            EncodeBoxTask(("box", request.face_id), data, box), ticker)
        if isinstance(result, ImageError):
            return from_image_error(result)
        if not isinstance(result, DetectResult) or len(result.faces) != 1:
            return Failure("internal", f"unexpected result {result!r}", True)
        return result.faces[0].encoding

    def _image_bytes(self, request: BoxRequest, ticker: Ticker) -> bytes | Failure:
        if request.thumb_url:
            try:
                return self.processor.fetch_ticking(request.thumb_url, ticker)
            except DownloadError as exc:
                if exc.failure.throttle or exc.failure.kind == "bad_host":
                    raise
                log.info("stored thumbnail failed, asking imageinfo again",
                         extra={"face": request.face_id, "error": str(exc)})
        ticker()
        info = image_infos(self.processor.api, [request.page_id],
                           self.processor.width)[request.page_id]
        if info.missing:
            return Failure("missing", "the file is not on Commons (deleted?)", False)
        if not info.thumb_url:
            return Failure("no_thumbnail", "imageinfo gave no thumbnail URL", True)
        ticker()
        return self.processor.fetch_ticking(info.thumb_url, ticker)
