"""Turning pending images into faces: claim -> imageinfo -> download -> face pool -> store.

Each Commons file is detected once for every project (likeness.db.files): an image whose file
was detected and checked recently is linked to its detections without asking Commons; else
imageinfo gives the file's sha1, and an unchanged file is linked likewise; a new or re-uploaded
file is detected under the file's own lease, and its detections are linked to every project's
waiting image of it at once. An image whose file another worker is detecting right now steps
aside (deferred without counting an attempt): that worker links it when it finishes.

One call of ``ImageProcessor`` is one unit of work. It claims images a batch at a time and
keeps claiming while the pool's queue runs low (so children never idle between batches), for at
most ``UNIT_SECONDS``; then it stops claiming and finishes what it holds. Downloads run in a few
threads while the children detect; each image's outcome is stored in its own small transaction
as soon as it is known, so a worker killed mid-unit loses only what was in flight, and those
leases expire and are taken over. Throttling (429, Retry-After, maxlag) defers images without
counting an attempt and pauses this worker's claiming; other failures are counted and retried
with exponential backoff until ``max_attempts``, then the image keeps its error.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from likeness.db import faces_store, jobs
from likeness.db import files as file_rows
from likeness.db import images as image_rows
from likeness.db import workers as worker_rows
from likeness.db.faces_store import Linked
from likeness.db.files import FileState, ThumbInfo
from likeness.db.images import ClaimedImage
from likeness.db.jobs import JobKind
from likeness.db.schema import utcnow
from likeness.faces.pool import PoolError
from likeness.faces.types import DetectResult, DetectTask, ImageError
from likeness.faces.widths import thumb_width_for
from likeness.retry import Failure, failure_of
from likeness.wiki.commons import ImageInfo, image_infos
from likeness.wiki.errors import WikiError
from worker.context import WorkerContext
from worker.download import DownloadError
from worker.photos import is_photo_mime
from worker.ticker import Ticker

log = logging.getLogger("likeness.worker.process")

UNIT_SECONDS = 30.0  # claim new images for this long per unit, then finish and return
TRAIN_DELAY = dt.timedelta(seconds=10)  # let a few images land before the model retrains
API_PAUSE = 60.0  # seconds without claiming after the API failed for a whole batch
POOL_PAUSE = 30.0  # seconds without claiming after the face pool broke
BUSY_FILE_WAIT = 30.0  # another worker detects the file: it links our image when done
# Jobs somebody waits for (a drawn box, a new project's crawl and seeds, a retrain after
# answers: the labeller's next grid of proposals): a unit stops claiming when one is ready, so
# the job runner gets to it within seconds. Retrains the images unit itself asks for wait
# TRAIN_DELAY first, so they interrupt a unit at most that often.
URGENT_JOBS = (JobKind.ENCODE_BOX, JobKind.CRAWL, JobKind.SEED, JobKind.TRAIN)


@dataclass
class _Work:
    image: ClaimedImage
    info: ImageInfo
    file_id: int
    previous_sha1: str | None  # the version detected before (None: never detected)
    future: cf.Future[bytes] | None = None
    in_pool: bool = False


@dataclass
class UnitStats:
    claimed: int = 0
    done: int = 0
    detected: int = 0  # files this unit ran the detector on
    linked: int = 0  # images given faces already detected (here or earlier), no detection
    faces: int = 0
    failed: int = 0
    retry: int = 0
    deferred: int = 0
    skipped: int = 0
    seconds: float = 0.0
    # Child-seconds with no task in the pool while the unit ran: what feeding the pool costs
    # (downloads, imageinfo, storing) plus the unit's tail; bench/worker.py reports it.
    idle_child_seconds: float = 0.0
    projects_with_faces: set[int] = field(default_factory=set)


class ImageProcessor:
    """Loop handler: one unit of image processing; True when it found work."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.width = thumb_width_for(ctx.cfg.worker.thumb_width)
        self.paused_until = 0.0  # monotonic; set when a server asks us to slow down
        self.last_project: int | None = None  # projects take turns, batch by batch

    def __call__(self) -> bool:
        if time.monotonic() < self.paused_until:
            return False
        unit = _Unit(self)
        try:
            return unit.run()
        except PoolError:
            # Children cannot start (out of memory?): give the images back untouched, start
            # a fresh pool after a pause rather than failing every image.
            log.exception("face pool broken", extra={"worker": self.ctx.id})
            with self.ctx.engine.begin() as conn:
                image_rows.release(conn, list(unit.work), self.ctx.id)
                file_rows.release(conn, [w.file_id for w in unit.work.values()], self.ctx.id)
            self.ctx.pool.discard()
            self.pause(POOL_PAUSE)
            return True

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)


class _Unit:
    def __init__(self, processor: ImageProcessor) -> None:
        self.p = processor
        self.ctx = processor.ctx
        self.pool = self.ctx.pool
        self.owner = self.ctx.id
        self.lease = self.ctx.lease_seconds
        self.batch = self.ctx.cfg.worker.batch_size
        self.work: dict[int, _Work] = {}
        self.claimed_ids: set[int] = set()
        self.stats = UnitStats()
        self.ticker = Ticker(self.ctx, "images", renew=self._renew)

    def run(self) -> bool:
        started = last = time.monotonic()
        end = started + UNIT_SECONDS
        size = self.pool.size
        claiming = True
        while True:
            now = time.monotonic()
            busy = sum(1 for w in self.work.values() if w.in_pool)
            self.stats.idle_child_seconds += (now - last) * max(0, size - busy)
            last = now
            if claiming and self._backlog() <= 2 * size:  # the pool's queue runs low
                if (self.ticker.stopping or now > end or now < self.p.paused_until
                        or self._urgent_job_waiting()):
                    claiming = False
                else:
                    claiming = self._claim_more()
            if not self.work and not claiming:
                break
            self._pump()
            self.ticker()
        self.stats.seconds = time.monotonic() - started
        if self.stats.claimed:
            with self.ctx.engine.begin() as conn:
                for project_id in self.stats.projects_with_faces:
                    jobs.enqueue_train(conn, project_id, delay=TRAIN_DELAY)
                worker_rows.count_done(conn, self.owner, self.stats.done + self.stats.skipped)
            log.info("images unit", extra={
                "worker": self.owner, "children": size,
                **{k: round(v, 3) if isinstance(v, float) else v
                   for k, v in vars(self.stats).items() if k != "projects_with_faces"}})
        return self.stats.claimed > 0

    def _renew(self, conn: Any) -> int:
        file_rows.renew(conn, [w.file_id for w in self.work.values()], self.owner, self.lease)
        return image_rows.renew(conn, list(self.work), self.owner, self.lease)

    def _backlog(self) -> int:
        return len(self.work)

    def _urgent_job_waiting(self) -> bool:
        if not self.stats.claimed:
            return False
        with self.ctx.engine.connect() as conn:
            return jobs.ready(conn, URGENT_JOBS)

    # --- claiming -----------------------------------------------------------------------

    def _claim_more(self) -> bool:
        with self.ctx.engine.begin() as conn:
            claimed = image_rows.claim_pending(conn, self.owner, self.lease, self.batch,
                                               after_project=self.p.last_project)
        if not claimed:
            return False
        self.p.last_project = claimed[0].project_id
        self.stats.claimed += len(claimed)
        self.claimed_ids.update(c.id for c in claimed)
        claimed = self._link_known(claimed)
        self.ticker()
        if not claimed:
            return True
        try:
            infos = image_infos(self.ctx.wiki.commons, [c.page_id for c in claimed],
                                self.p.width).by_pageid()
        except WikiError as exc:
            self._api_failed(claimed, failure_of(exc))
            return False
        for image in claimed:
            self._start(image, infos.get(image.page_id))
        return True

    def _link_known(self, claimed: list[ClaimedImage]) -> list[ClaimedImage]:
        """Link images whose file was detected and found unchanged within a re-crawl interval,
        without asking Commons; returns the others."""
        since = utcnow() - dt.timedelta(hours=self.ctx.cfg.worker.recrawl_hours)
        rest = []
        with self.ctx.engine.begin() as conn:
            known = file_rows.current(conn, [c.page_id for c in claimed], since)
            for image in claimed:
                state = known.get(image.page_id)
                linked = (faces_store.link(conn, image.id, state, owner=self.owner)
                          if state else None)
                if linked is None:
                    rest.append(image)
                else:
                    self._count_linked([linked], conn)
        return rest

    def _count_linked(self, linked: list[Linked], conn: Any,
                      detected: int | None = None) -> None:
        """Progress: images of this unit's claims are done; every image but the one whose file
        was just ``detected`` got its faces without a detection. Queues training for projects
        that got faces."""
        for each in linked:
            if each.image_id in self.claimed_ids:
                self.stats.done += 1
            if each.image_id != detected:
                self.stats.linked += 1
            self.stats.faces += each.faces
            if each.faces and each.project_id not in self.stats.projects_with_faces:
                self.stats.projects_with_faces.add(each.project_id)
                jobs.enqueue_train(conn, each.project_id, delay=TRAIN_DELAY)

    def _api_failed(self, claimed: list[ClaimedImage], failure: Failure) -> None:
        wait = failure.retry_after if failure.throttle and failure.retry_after else API_PAUSE
        log.warning("imageinfo failed", extra={"worker": self.owner, "error": str(failure),
                                               "wait": wait})
        self.p.pause(wait)
        if failure.throttle:
            self._defer([c.id for c in claimed], wait, f"imageinfo: {failure}")
        else:
            for image in claimed:
                self._fail(image, Failure("api_error", f"imageinfo: {failure}", True))

    def _start(self, image: ClaimedImage, info: ImageInfo | None) -> None:
        if info is None:
            self._fail(image, Failure("missing", "the file is not on Commons (deleted?)", False))
        elif not is_photo_mime(info.mime):
            with self.ctx.engine.begin() as conn:
                image_rows.record_skipped(conn, image.id, self.owner, info.mime,
                                          f"not a photograph ({info.mime or 'no MIME type'})")
            self.stats.skipped += 1
        elif not info.thumb_url:
            self._fail(image, Failure("no_thumbnail", "imageinfo gave no thumbnail URL", True))
        else:
            self._detect_or_link(image, info)

    def _detect_or_link(self, image: ClaimedImage, info: ImageInfo) -> None:
        with self.ctx.engine.begin() as conn:
            claim = file_rows.claim(conn, image.page_id, image.title, info.sha1, self.owner,
                                    self.lease)
            if claim.outcome == "current":
                linked = faces_store.link(conn, image.id, claim.file, owner=self.owner)
                self._count_linked([linked] if linked else [], conn)
        if claim.outcome == "busy":
            self._defer([image.id], BUSY_FILE_WAIT, "another worker is detecting this file")
        elif claim.outcome == "mine":
            work = _Work(image, info, claim.file.id, claim.file.sha1)
            work.future = self.ctx.downloads.start(info.thumb_url or "")
            self.work[image.id] = work

    # --- the event pump -----------------------------------------------------------------

    def _pump(self) -> None:
        downloading = [w for w in self.work.values() if w.future is not None]
        for work in downloading:
            if work.future is not None and work.future.done():
                self._downloaded(work)
        pool = self.pool
        still = [w.future for w in self.work.values() if w.future is not None]
        if any(w.in_pool for w in self.work.values()):
            for task_id, result in pool.results(timeout=0.05 if still else 0.5):
                finished = self.work.get(task_id)
                if finished is not None:
                    self._finished(finished, result)
        elif still:
            cf.wait(still, timeout=0.5, return_when=cf.FIRST_COMPLETED)

    def _downloaded(self, work: _Work) -> None:
        future, work.future = work.future, None
        assert future is not None
        try:
            data = future.result()
        except DownloadError as exc:
            if exc.failure.throttle:
                self._throttled(work, exc.failure)
            else:
                self._fail(work.image, exc.failure)
            return
        except Exception as exc:  # a bug in our code must not lose the image
            log.exception("download crashed", extra={"worker": self.owner})
            self._fail(work.image, Failure("internal", f"{type(exc).__name__}: {exc}", True))
            return
        self.pool.submit(DetectTask(work.image.id, data, max_width=self.p.width))
        work.in_pool = True

    def _throttled(self, work: _Work, failure: Failure) -> None:
        """The upload host asks us to wait: defer this image and every one not yet fetched."""
        wait = failure.retry_after or 60.0
        self.p.pause(wait)
        waiting = [work.image.id]
        for other in list(self.work.values()):
            if other.future is not None and other.future.cancel():
                other.future = None
                waiting.append(other.image.id)
        self._defer(waiting, wait, str(failure))

    def _finished(self, work: _Work, result: Any) -> None:
        if isinstance(result, ImageError):
            self._fail(work.image, failure_of(result))
            return
        if not isinstance(result, DetectResult):
            self._fail(work.image, Failure("internal", f"unexpected result {result!r}", True))
            return
        info = work.info
        thumb = ThumbInfo(info.thumb_url or "", result.width, result.height, info.mime,
                          info.width, info.height)
        with self.ctx.engine.begin() as conn:
            state = file_rows.finish_detection(conn, work.file_id, self.owner, info.sha1,
                                               thumb, len(result.faces))
            if state is not None:
                self._store(conn, state, work, result.faces)
        self.work.pop(work.image.id, None)
        if state is None:  # another worker took the file over: it links our image too
            self._defer([work.image.id], BUSY_FILE_WAIT, "another worker detected this file")

    def _store(self, conn: Any, state: FileState, work: _Work, detected: Any) -> None:
        superseded = faces_store.store_detections(conn, state, detected, work.previous_sha1)
        linked = faces_store.link_everywhere(conn, state, self.owner, work.image.id,
                                             relink_done=superseded)
        self.stats.detected += 1
        self._count_linked(linked, conn, detected=work.image.id)

    # --- outcomes -----------------------------------------------------------------------

    def _fail(self, image: ClaimedImage, failure: Failure) -> None:
        attempt = image.attempts + 1
        retry_at = self.ctx.retry_policy.next_try(attempt, failure, utcnow())
        work = self.work.pop(image.id, None)
        with self.ctx.engine.begin() as conn:
            image_rows.record_failure(conn, image.id, self.owner, failure.kind,
                                      failure.message, retry_at)
            if work is not None:
                file_rows.release(conn, [work.file_id], self.owner)
        if retry_at is None:
            self.stats.failed += 1
        else:
            self.stats.retry += 1
        log.info("image failed", extra={"worker": self.owner, "image": image.id,
                                        "kind": failure.kind, "error": failure.message,
                                        "attempt": attempt, "final": retry_at is None})

    def _defer(self, image_ids: list[int], seconds: float, reason: str) -> None:
        until = utcnow() + dt.timedelta(seconds=seconds)
        works = [w for w in (self.work.pop(i, None) for i in image_ids) if w is not None]
        with self.ctx.engine.begin() as conn:
            image_rows.defer(conn, image_ids, self.owner, until, reason)
            file_rows.release(conn, [w.file_id for w in works], self.owner)
        self.stats.deferred += len(image_ids)
