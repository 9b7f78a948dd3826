"""Bad input and bad networks end as clear per-image errors, retried with backoff a bounded number
of times, deferred (not counted) when the server throttles, and retryable from the web app.
Real dlib (the module's pool), real HTTP to the stand-in."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import time

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import update

from likeness.db import images as image_rows
from likeness.db.schema import images, projects, utcnow
from tests.fixtures.faces import HTML_ERROR_PAGE, huge_png
from tests.fixtures.worker_pipeline import (
    drain,
    image_states,
    new_project,
    processor_of,
)

CATEGORY = "Worker failure tests"
PORTRAIT = "people/bill_gates/2.jpg"  # 150 px, one face


def _synthetic(fmt: str, size: int = 96) -> bytes:
    rng = np.random.default_rng(5)
    image = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def _add(standin, tmp_path, title: str, served: bytes | None = None, source=None):
    """Register a valid small file, then (optionally) replace the bytes the upload host serves."""
    path = tmp_path / title.replace(" ", "_")
    if source is not None:
        shutil.copyfile(source, path)
    else:
        path.write_bytes(_synthetic("PNG" if title.endswith(".png") else "JPEG"))
    standin.add_file(path, f"File:{title}", [f"Category:{CATEGORY}"])
    if served is not None:
        path.write_bytes(served)  # below 1280 px the original is the thumbnail: served as is


def test_malformed_files_fail_one_by_one_while_the_rest_complete(make_worker, engine, standin,
                                                                  faces_dir, tmp_path):
    jpeg = _synthetic("JPEG", 200)
    bad = {
        "Truncated.jpg": (jpeg[: len(jpeg) // 2], "truncated"),
        "Html page.png": (HTML_ERROR_PAGE, "html"),
        "Empty body.png": (b"", "empty"),
        "Huge dimensions.png": (huge_png(), "too_large"),
        "Random bytes.png": (np.random.default_rng(3).bytes(20_000), "not_an_image"),
        "Broken png.png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "corrupt"),
    }
    for title, (served, _) in bad.items():
        _add(standin, tmp_path, title, served)
    network = {"Gone.jpg": "http_404", "Dropped.jpg": "download_error"}
    for title in network:
        _add(standin, tmp_path, title)
    standin.fault("upload", "http", times=None, status=404, path_contains="Gone.jpg")
    standin.fault("upload", "drop", times=None, path_contains="Dropped.jpg")
    _add(standin, tmp_path, "Good portrait.jpg", source=faces_dir / PORTRAIT)
    _add(standin, tmp_path, "Sound.ogg")  # not a photo: never becomes an image row

    worker = make_worker(max_attempts=1)
    project_id = new_project(engine, CATEGORY)
    drain(worker)

    states = image_states(engine, project_id)
    assert set(states) == {f"File:{t}" for t in [*bad, *network, "Good portrait.jpg"]}
    for title, (_, kind) in bad.items():
        row = states[f"File:{title}"]
        assert (row.status, row.error_kind) == ("failed", kind), (title, row.last_error)
        assert row.last_error and row.attempts == 1
    for title, kind in network.items():
        row = states[f"File:{title}"]
        assert (row.status, row.error_kind) == ("failed", kind), (title, row.last_error)
    good = states["File:Good portrait.jpg"]
    assert (good.status, good.faces_found, good.error_kind) == ("done", 1, None)
    with engine.connect() as conn:
        counts = image_rows.processing_counts(conn, project_id)
        listed = image_rows.failed_images(conn, project_id)
    assert counts.failed_by_kind == {**{k: 1 for _, k in bad.values()},
                                     **{k: 1 for k in network.values()}}
    assert (counts.found, counts.done, counts.failed, counts.faces) == (9, 1, 8, 1)
    assert {row.title for row in listed} == {f"File:{t}" for t in [*bad, *network]}


def test_transient_errors_back_off_then_keep_the_error_until_retried(make_worker, engine,
                                                                     standin, tmp_path):
    _add(standin, tmp_path, "Flaky.jpg")
    _add(standin, tmp_path, "Fine.jpg")
    fault = standin.fault("upload", "http", times=None, status=503, path_contains="Flaky.jpg")
    worker = make_worker(max_attempts=3, retry_base_seconds=0)
    project_id = new_project(engine, CATEGORY)
    drain(worker)

    flaky = image_states(engine, project_id)["File:Flaky.jpg"]
    assert (flaky.status, flaky.error_kind, flaky.attempts) == ("failed", "http_503", 3)
    assert fault.applied == 3  # bounded: three attempts, then it keeps its error
    assert image_states(engine, project_id)["File:Fine.jpg"].status == "done"

    standin.faults.clear()
    with engine.begin() as conn:
        assert image_rows.retry_failed(conn, project_id) == 1
    drain(worker)
    flaky = image_states(engine, project_id)["File:Flaky.jpg"]
    assert (flaky.status, flaky.error_kind, flaky.last_error) == ("done", None, None)


def test_backoff_doubles_from_the_configured_base(make_worker, engine, standin, tmp_path):
    _add(standin, tmp_path, "Flaky.jpg")
    standin.fault("upload", "http", times=2, status=500, path_contains="Flaky.jpg")
    worker = make_worker(max_attempts=5, retry_base_seconds=100)
    project_id = new_project(engine, CATEGORY)
    delays = []
    for attempt in (1, 2):
        started = utcnow()
        drain(worker)
        row = image_states(engine, project_id)["File:Flaky.jpg"]
        assert (row.status, row.attempts, row.error_kind) == ("pending", attempt, "http_500")
        delays.append((row.next_try_at - started).total_seconds())
        with engine.begin() as conn:  # let the time pass
            conn.execute(update(images).values(next_try_at=utcnow()))
    assert 99 <= delays[0] <= 110 and 199 <= delays[1] <= 210
    drain(worker)
    assert image_states(engine, project_id)["File:Flaky.jpg"].status == "done"


def test_retry_after_defers_without_counting_an_attempt(make_worker, engine, standin, tmp_path):
    for n in range(3):
        _add(standin, tmp_path, f"Throttled {n}.jpg")
    standin.fault("upload", "http", times=1, status=429, retry_after=300)
    worker = make_worker(batch_size=3)
    project_id = new_project(engine, CATEGORY)
    started = utcnow()
    drain(worker)

    rows = image_states(engine, project_id).values()
    deferred = [r for r in rows if r.status == "pending"]
    assert deferred, "the 429 must defer at least the image it hit"
    for row in deferred:
        assert row.attempts == 0 and row.error_kind is None
        assert (row.next_try_at - started).total_seconds() >= 295
    assert processor_of(worker).paused_until - time.monotonic() > 250  # no claims meanwhile

    processor_of(worker).paused_until = 0.0
    with engine.begin() as conn:
        conn.execute(update(images).values(next_try_at=utcnow()))
    drain(worker)
    assert {r.status for r in image_states(engine, project_id).values()} == {"done"}


def test_maxlag_on_imageinfo_defers_the_batch(make_worker, engine, standin, tmp_path):
    _add(standin, tmp_path, "Lagged.jpg")
    project_id = new_project(engine, CATEGORY)
    worker = make_worker()
    # The crawl's listing passes; the imageinfo request that follows meets the lag.
    standin.fault("commons.api", "maxlag", times=1, lag=7, match={"prop": "imageinfo"})
    started = utcnow()
    drain(worker)
    row = image_states(engine, project_id)["File:Lagged.jpg"]
    assert (row.status, row.attempts) == ("pending", 0)
    assert "maxlag" in row.last_error
    assert row.next_try_at >= started + dt.timedelta(seconds=4)
    requests = standin.world.requests
    assert any(r.get("params", {}).get("maxlag") == "5" for r in requests)


@pytest.mark.parametrize("status", ["paused", "archived"])
def test_paused_and_archived_projects_are_left_alone(make_worker, engine, standin, tmp_path,
                                                     status):
    _add(standin, tmp_path, "Waiting.jpg")
    project_id = new_project(engine, CATEGORY)
    worker = make_worker()
    drain(worker)
    image_id = image_states(engine, project_id)["File:Waiting.jpg"].id
    with engine.begin() as conn:
        conn.execute(update(images).values(status="pending", attempts=0))
        conn.execute(update(projects).values(status=status))
    drain(worker)
    with engine.connect() as conn:
        assert image_rows.get(conn, image_id).status == "pending"
