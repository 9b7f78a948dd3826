"""The ``encode_box`` job: encode a box a person drew, in the face pool, never in the web app.

The face row waits with ``state='encoding'`` and no encoding. We fetch the image (the thumbnail
its faces were found on, or a fresh one from imageinfo), encode exactly the box (fractions of
the image, so any width gives the same region) and fill the encoding in. A failure goes to the
job runner's retry policy; once it gives up, ``give_up`` marks the face ``error``.
"""

from __future__ import annotations

import logging
from typing import Any

from likeness.db import claims, faces_store, jobs
from likeness.db.faces_store import BoxRequest
from likeness.db.jobs import Job
from likeness.db.schema import jobs as job_table
from likeness.faces.types import Box, BoxError, DetectResult, EncodeBoxTask, ImageError
from likeness.faces.widths import thumb_width_for
from likeness.retry import Failed, Failure, failure_of
from likeness.wiki.commons import image_infos
from worker.context import WorkerContext
from worker.download import DownloadError
from worker.ticker import Ticker

log = logging.getLogger("likeness.worker.encode_box")


def run(ctx: WorkerContext, job: Job) -> dict[str, Any]:
    if job.face_id is None:
        raise Failed(Failure("bad_job", "encode_box job without a face", False))
    with ctx.engine.begin() as conn:
        request = faces_store.pending_box(conn, job.face_id)
    if request is None:
        return {"skipped": "the face no longer waits for an encoding"}
    ticker = Ticker(ctx, f"encode box {job.face_id}",
                    renew=lambda conn: claims.renew(conn, job_table, [job.id], ctx.id,
                                                    ctx.lease_seconds))
    encoding = _encode(ctx, request, ticker)
    with ctx.engine.begin() as conn:
        stored = faces_store.set_box_encoding(conn, request.face_id, encoding)
        if stored:
            jobs.enqueue_train(conn, request.project_id)
    return {"face": request.face_id, "encoded": stored}


def give_up(ctx: WorkerContext, job: Job, failure: Failure) -> None:
    """The box cannot be encoded: the face shows as failed, and the person may draw again."""
    if job.face_id is not None:
        with ctx.engine.begin() as conn:
            faces_store.fail_box(conn, job.face_id)


def _encode(ctx: WorkerContext, request: BoxRequest, ticker: Ticker) -> bytes:
    try:
        box = Box(*request.box)
    except BoxError as exc:
        raise Failed(Failure("bad_box", str(exc), False)) from exc
    data = _image_bytes(ctx, request, ticker)
    result = ctx.pool.run(EncodeBoxTask(("box", request.face_id), data, box), ticker)
    if isinstance(result, ImageError):
        raise Failed(failure_of(result))
    if not isinstance(result, DetectResult) or len(result.faces) != 1:
        raise Failed(Failure("internal", f"unexpected result {result!r}", True))
    return result.faces[0].encoding


def _image_bytes(ctx: WorkerContext, request: BoxRequest, ticker: Ticker) -> bytes:
    if request.thumb_url:
        try:
            return ctx.downloads.fetch_ticking(request.thumb_url, ticker)
        except DownloadError as exc:
            if exc.failure.throttle or exc.failure.kind == "bad_host":
                raise
            log.info("stored thumbnail failed, asking imageinfo again",
                     extra={"face": request.face_id, "error": str(exc)})
    ticker()
    width = thumb_width_for(ctx.cfg.worker.thumb_width)
    info = image_infos(ctx.wiki.commons, [request.page_id], width).by_pageid().get(
        request.page_id)
    if info is None:
        raise Failed(Failure("missing", "the file is not on Commons (deleted?)", False))
    if not info.thumb_url:
        raise Failed(Failure("no_thumbnail", "imageinfo gave no thumbnail URL", True))
    ticker()
    return ctx.downloads.fetch_ticking(info.thumb_url, ticker)
