"""Which Commons thumbnail width keeps the faces? Face recall and time per width vs full size.

For every photo in <faces>/groups/ (and optionally people/), detect faces with dlib HOG at full
size (the baseline) and at the standard Commons widths. A thumbnail is made the way Commons
serves it: never wider than the original (then the original is used), scaled with Lanczos.
A full-size face counts as found at a width when a face there overlaps it (IoU >= 0.3 on the
fractional boxes). Also prints the face box widths at full size, start-up time of the pool for
both start methods, and per-image time (decode + detect + encode) per width.

    .venv/bin/python bench/thumb_width.py [--widths 500,960,1280,1920] [--upsample 1]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from likeness.faces.types import Box  # noqa: E402

COMMONS_WIDTHS = (250, 330, 500, 960, 1280, 1920)


def faces_dir() -> Path:
    return Path(os.environ.get("LIKENESS_FACES_DIR", REPO.parent / "shared" / "faces"))


def matched(reference: list[Box], found: list[Box], threshold: float = 0.3) -> int:
    """Greedy one-to-one matching of reference boxes to found boxes."""
    unused = list(found)
    hits = 0
    for ref in reference:
        best = max(unused, key=ref.iou, default=None)
        if best is not None and ref.iou(best) >= threshold:
            unused.remove(best)
            hits += 1
    return hits


def thumbnail_bytes(original: bytes, width: int | None) -> bytes:
    """JPEG bytes of the image at ``width`` (None: the original), as Commons would serve it."""
    from PIL import Image

    if width is None:
        return original
    img = Image.open(io.BytesIO(original))
    if img.width <= width:
        return original
    height = round(img.height * width / img.width)
    out = io.BytesIO()
    img.convert("RGB").resize((width, height), Image.Resampling.LANCZOS).save(
        out, "JPEG", quality=87
    )
    return out.getvalue()


def measure_startup() -> None:
    from likeness.faces.pool import FacePool

    for method in ("forkserver", "spawn"):
        started = time.monotonic()
        with FacePool(2, start_method=method) as pool:
            pool.wait_ready()
            first = time.monotonic() - started
            # a replacement child (what a crash costs)
            started = time.monotonic()
            pool._replace(pool._children[0], "bench")  # noqa: SLF001 - measuring respawn
            pool.wait_ready()
            respawn = time.monotonic() - started
        print(f"pool start ({method}, 2 children): {first:.2f} s; one respawn: {respawn:.2f} s")


def run(widths: list[int], upsample: int, subsets: list[str]) -> None:
    from likeness.faces.child import ChildSettings, run_task
    from likeness.faces.detect import FaceEngine
    from likeness.faces.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
    from likeness.faces.types import DetectTask

    engine = FaceEngine()
    settings = ChildSettings(None, None, None, DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, None)
    columns: list[int | None] = [None, *widths]
    found = {w: 0 for w in columns}
    wide_found = {w: 0 for w in columns}  # photos wider than 1000 px: thumbnails really differ
    count = {w: 0 for w in columns}
    seconds: dict[int | None, list[float]] = {w: [] for w in columns}
    box_widths: list[float] = []
    files = sorted(p for subset in subsets for p in (faces_dir() / subset).rglob("*.jpg"))
    print(f"{len(files)} photos from {', '.join(subsets)}; HOG upsample {upsample}\n")
    header = f"{'photo':44s} {'size':>10s} " + " ".join(
        f"{('full' if w is None else str(w)):>6s}" for w in columns
    )
    print(header)
    for path in files:
        original = path.read_bytes()
        reference: list[Box] = []
        row = []
        size = ""
        for width in columns:
            data = thumbnail_bytes(original, width)
            started = time.perf_counter()
            result = run_task(DetectTask(path.name, data, upsample), engine, settings)
            seconds[width].append(time.perf_counter() - started)
            boxes = [face.box for face in result.faces]
            if width is None:
                reference = boxes
                size = f"{result.width}x{result.height}"
                box_widths += [box.width * result.width for box in boxes]
            found[width] += matched(reference, boxes)
            if int(size.split("x")[0]) > 1000:
                wide_found[width] += matched(reference, boxes)
            count[width] += len(boxes)
            row.append(f"{matched(reference, boxes)}/{len(reference)}")
        print(f"{path.name[:44]:44s} {size:>10s} " + " ".join(f"{cell:>6s}" for cell in row))

    total, wide_total = found[None], wide_found[None]
    print(f"\n(wide: the photos wider than 1000 px, {wide_total} faces at full size)")
    print("width   recall   recall(wide)   faces found   mean s/image   ratio of full-size time")
    full_time = statistics.mean(seconds[None])
    for width in columns:
        label = "full" if width is None else str(width)
        mean_s = statistics.mean(seconds[width])
        print(
            f"{label:>5s}   {found[width] / total:6.2f}   {wide_found[width] / wide_total:12.2f}   "
            f"{count[width]:11d}   "
            f"{mean_s:12.3f}   {mean_s / full_time:8.2f}"
        )
    if box_widths:
        qs = statistics.quantiles(box_widths, n=10)
        print(
            f"\nface box widths at full size, px: n={len(box_widths)} min={min(box_widths):.0f} "
            f"p10={qs[0]:.0f} median={statistics.median(box_widths):.0f} p90={qs[-1]:.0f} "
            f"max={max(box_widths):.0f}"
        )


def time_by_size() -> None:
    """HOG time alone by image size (cost grows with area), and the cost of one encoding."""
    import numpy as np
    from PIL import Image

    from likeness.faces.detect import FaceEngine

    engine = FaceEngine()
    photo = faces_dir() / "groups" / "commons_rumba_kings_band_2023.jpg"
    source = Image.open(photo).convert("RGB")
    print("HOG detection time by image size (upsample 0 / 1), no encoding:")
    for width, height in ((500, 375), (960, 720), (1280, 960), (1920, 1440), (1280, 4000)):
        pixels = np.asarray(source.resize((width, height), Image.Resampling.BILINEAR))
        times = []
        for upsample in (0, 1):
            started = time.perf_counter()
            engine.detector.run(pixels, upsample, 0.0)
            times.append(time.perf_counter() - started)
        print(f"  {width}x{height}: {times[0]:.3f} s / {times[1]:.3f} s")
    pixels = np.asarray(source)
    face = engine.detect(pixels, 1)[0]
    started = time.perf_counter()
    for _ in range(10):
        engine.encode_box(pixels, face.box)
    print(f"one 128-D encoding: {(time.perf_counter() - started) / 10 * 1000:.0f} ms\n")


def pool_throughput(width: int, upsample: int) -> None:
    """The group photos at ``width`` through a 2-child pool vs one after another in-process."""
    from likeness.faces.child import ChildSettings, run_task
    from likeness.faces.detect import FaceEngine
    from likeness.faces.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
    from likeness.faces.pool import FacePool
    from likeness.faces.types import DetectTask

    files = sorted((faces_dir() / "groups").glob("*.jpg"))
    thumbs = {path.name: thumbnail_bytes(path.read_bytes(), width) for path in files}
    engine = FaceEngine()
    settings = ChildSettings(None, None, None, DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, None)
    started = time.perf_counter()
    for name, data in thumbs.items():
        run_task(DetectTask(name, data, upsample), engine, settings)
    serial = time.perf_counter() - started
    with FacePool(2) as pool:
        pool.wait_ready()
        started = time.perf_counter()
        done = list(pool.map_unordered(DetectTask(n, d, upsample) for n, d in thumbs.items()))
        pooled = time.perf_counter() - started
    assert len(done) == len(thumbs)
    print(
        f"{len(thumbs)} group photos at {width} px: in-process {serial:.2f} s, "
        f"pool of 2 {pooled:.2f} s (speed-up {serial / pooled:.2f}x on {os.cpu_count()} cores)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default="500,960,1280,1920")
    parser.add_argument("--upsample", type=int, default=1)
    parser.add_argument("--subsets", default="groups", help="comma-separated: groups,people")
    parser.add_argument("--no-startup", action="store_true", help="skip the pool start-up timing")
    args = parser.parse_args()
    if not args.no_startup:
        measure_startup()
        print()
        time_by_size()
    run([int(w) for w in args.widths.split(",")], args.upsample, args.subsets.split(","))
    print()
    pool_throughput(1280, args.upsample)


if __name__ == "__main__":
    main()
