"""Encodings of the labelled photos in ../shared/faces, computed once and cached.

Used by bench/active_learning.py and by tests/test_model_*.py. Runs dlib (face_recognition) in
this process: acceptable in benchmarks and tests only; the product encodes faces in the worker pool.
The cache is an .npz keyed by the path, size and mtime of every photo, so edits to the folder
invalidate it.
"""

from __future__ import annotations

import csv
import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KINDS = ("people", "extra_people", "groups", "noface")
CACHE_VERSION = "1"


@dataclass
class FaceSet:
    """Every face found in the folder, with its image and what is known about who it is."""

    encodings: np.ndarray        # (N, 128) float32
    face_image: np.ndarray       # (N,) int: index into images
    face_person: np.ndarray      # (N,) str: identity slug for single-person photos, "" otherwise
    face_box_width: np.ndarray   # (N,) int pixels
    images: np.ndarray           # (M,) str: path relative to the faces folder
    image_kind: np.ndarray       # (M,) str: people | extra_people | groups | noface
    image_people: np.ndarray     # (M,) str: ";"-joined slugs known to be on the image

    @property
    def people(self) -> list[str]:
        """Identities of people/ (the candidate targets)."""
        mask = self.image_kind == "people"
        return sorted({p for p in self.image_people[mask]})


def list_images(faces_dir: Path) -> list[tuple[str, str, str]]:
    """(relative path, kind, known people) for every photo in the folder."""
    groups: dict[str, str] = {}
    tsv = faces_dir / "GROUPS.tsv"
    if tsv.exists():
        with tsv.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                listed = row["people_slugs_in_this_set"].split(";")
                slugs = [s.replace("extra:", "") for s in listed]
                groups[row["file"]] = ";".join(s for s in slugs if s)
    out = []
    for kind in KINDS:
        base = faces_dir / kind
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp"):
                continue
            rel = path.relative_to(faces_dir).as_posix()
            if kind in ("people", "extra_people"):
                people = path.parent.name
            elif kind == "groups":
                people = groups.get(path.name, "")
            else:
                people = ""
            out.append((rel, kind, people))
    return out


def _cache_key(faces_dir: Path, listing: list[tuple[str, str, str]]) -> str:
    h = hashlib.sha256(CACHE_VERSION.encode())
    for rel, kind, people in listing:
        st = (faces_dir / rel).stat()
        h.update(f"{rel}|{kind}|{people}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _encode_one(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Encodings and box widths of the faces HOG finds (upsample 1) at full size."""
    import face_recognition  # imported here: heavy, and only the pool workers need it
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    boxes = face_recognition.face_locations(rgb, number_of_times_to_upsample=1, model="hog")
    if not boxes:
        return np.zeros((0, 128), np.float32), np.zeros(0, np.int32)
    enc = np.asarray(face_recognition.face_encodings(rgb, boxes), dtype=np.float32)
    widths = np.array([right - left for _top, right, _bottom, left in boxes], np.int32)
    return enc, widths


def compute(faces_dir: Path, workers: int = 2) -> FaceSet:
    """Detect and encode every photo (slow: about a minute on 2 cores)."""
    listing = list_images(faces_dir)
    paths = [str(faces_dir / rel) for rel, _k, _p in listing]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(_encode_one, paths, chunksize=4))
    enc, f_img, f_person, f_width = [], [], [], []
    for i, ((_rel, kind, people), (e, w)) in enumerate(zip(listing, results, strict=True)):
        if len(e) == 0:
            continue
        # A single-person photo: the largest face is the person; any other is a bystander.
        main = int(np.argmax(w)) if kind in ("people", "extra_people") else -1
        for j in range(len(e)):
            enc.append(e[j])
            f_img.append(i)
            f_person.append(people if j == main else "")
            f_width.append(w[j])
    return FaceSet(
        encodings=np.asarray(enc, np.float32).reshape(-1, 128),
        face_image=np.asarray(f_img, np.int64),
        face_person=np.asarray(f_person, dtype=str),
        face_box_width=np.asarray(f_width, np.int32),
        images=np.asarray([r for r, _k, _p in listing], dtype=str),
        image_kind=np.asarray([k for _r, k, _p in listing], dtype=str),
        image_people=np.asarray([p for _r, _k, p in listing], dtype=str),
    )


def load(faces_dir: Path, cache_dir: Path, workers: int = 2) -> FaceSet:
    """The folder's FaceSet from cache_dir, computing and caching it when missing or stale."""
    faces_dir = Path(faces_dir)
    listing = list_images(faces_dir)
    if not listing:
        raise FileNotFoundError(f"no photos under {faces_dir} (expected people/, groups/, ...)")
    cache = Path(cache_dir) / f"faces-{_cache_key(faces_dir, listing)}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            return FaceSet(**{k: z[k] for k in z.files})
    fs = compute(faces_dir, workers=workers)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **fs.__dict__)
    os.replace(tmp, cache)  # atomic: parallel test workers never read half a file
    return fs
