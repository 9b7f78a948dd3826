"""The catalog: what the stand-in's Commons and Wikidata contain before any test edits them.

A catalog is a directory holding ``manifest.json``. Image paths in the manifest may be absolute
(a catalog built from ``../shared/faces`` points at the photos and never copies them) or relative
to the catalog directory. ``build_from_faces`` makes the standard test catalog.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from standin.naming import normalize_title

MANIFEST = "manifest.json"
MIME_BY_FORMAT = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif",
                  "WEBP": "image/webp"}
EXT_BY_FORMAT = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}

PEOPLE_ROOT = "Category:Likeness test people"
GROUPS_CAT = "Category:Likeness test groups"
NOFACE_CAT = "Category:Likeness test no faces"
ROOT_CAT = "Category:Likeness test files"
EMPTY_CAT = "Category:Likeness test empty"
HUMAN = "Q5"


@dataclass
class CatalogFile:
    title: str
    pageid: int
    path: str
    width: int
    height: int
    size: int
    mime: str
    sha1: str
    timestamp: str
    revid: int
    categories: list[str] = field(default_factory=list)
    uploader: str = "Likeness Tester"
    description: str = ""
    artist: str = ""
    license: str = "Test fixture, not freely licensed"
    # None: the file has no structured data (wbgetentities answers ``missing``).
    # Otherwise {"labels": {lang: text}, "statements": [compact statements]}.
    sdc: dict[str, Any] | None = None
    source: str = ""


@dataclass
class CatalogCategory:
    title: str
    pageid: int
    parents: list[str] = field(default_factory=list)
    hidden: bool = False


@dataclass
class CatalogItem:
    id: str
    pageid: int
    revid: int
    labels: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    statements: list[dict[str, Any]] = field(default_factory=list)
    datatype: str = ""  # properties only
    sitelinks: dict[str, str] = field(default_factory=dict)  # site -> title


@dataclass
class CatalogUser:
    name: str
    id: int
    central_id: int
    editcount: int = 100
    registered: str = "20200101000000"
    groups: list[str] = field(default_factory=lambda: ["*", "user", "autoconfirmed"])
    blocked: bool = False


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    name: str = "Likeness (stand-in)"
    grants: list[str] = field(default_factory=lambda: ["basic", "editpage"])
    callback: str = "http://127.0.0.1/oauth/callback"


@dataclass
class Person:
    slug: str
    name: str
    qid: str
    category: str
    files: list[str] = field(default_factory=list)
    p18: str = ""


@dataclass
class Catalog:
    root: Path
    files: list[CatalogFile] = field(default_factory=list)
    categories: list[CatalogCategory] = field(default_factory=list)
    items: list[CatalogItem] = field(default_factory=list)
    users: list[CatalogUser] = field(default_factory=list)
    clients: list[OAuthClient] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    registered_tags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # -- lookups used by tests -------------------------------------------------------------
    def file(self, title: str) -> CatalogFile:
        canonical = normalize_title(title)[1]
        for f in self.files:
            if f.title == canonical:
                return f
        raise KeyError(title)

    def person(self, slug_or_name: str) -> Person:
        for p in self.people:
            if slug_or_name in (p.slug, p.name, p.qid):
                return p
        raise KeyError(slug_or_name)

    def user(self, name: str) -> CatalogUser:
        for u in self.users:
            if u.name == name:
                return u
        raise KeyError(name)

    def files_in(self, category: str) -> list[CatalogFile]:
        return [f for f in self.files if category in f.categories]

    def files_with_p180(self) -> list[CatalogFile]:
        return [
            f for f in self.files
            if f.sdc and any(s["property"] == "P180" for s in f.sdc.get("statements", []))
        ]

    def files_without_sdc(self) -> list[CatalogFile]:
        return [f for f in self.files if f.sdc is None]

    def image_path(self, f: CatalogFile) -> Path:
        p = Path(f.path)
        return p if p.is_absolute() else self.root / p

    # -- persistence ---------------------------------------------------------------------------
    @classmethod
    def load(cls, directory: str | Path) -> Catalog:
        root = Path(directory)
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        return cls(
            root=root,
            files=[CatalogFile(**d) for d in data.get("files", [])],
            categories=[CatalogCategory(**d) for d in data.get("categories", [])],
            items=[CatalogItem(**d) for d in data.get("items", [])],
            users=[CatalogUser(**d) for d in data.get("users", [])],
            clients=[OAuthClient(**d) for d in data.get("clients", [])],
            people=[Person(**d) for d in data.get("people", [])],
            registered_tags=list(data.get("registered_tags", [])),
            notes=list(data.get("notes", [])),
        )

    def save(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        data = {
            "version": 1,
            "notes": self.notes,
            "registered_tags": self.registered_tags,
            "clients": [dataclasses.asdict(c) for c in self.clients],
            "users": [dataclasses.asdict(u) for u in self.users],
            "people": [dataclasses.asdict(p) for p in self.people],
            "categories": [dataclasses.asdict(c) for c in self.categories],
            "items": [dataclasses.asdict(i) for i in self.items],
            "files": [dataclasses.asdict(f) for f in self.files],
        }
        path = self.root / MANIFEST
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        return path


# ---------------------------------------------------------------------------------------------
# Image metadata


def image_facts(path: Path) -> dict[str, Any]:
    """Size, dimensions (after EXIF rotation, as MediaWiki reports them), MIME type and SHA-1."""
    raw = path.read_bytes()
    with Image.open(path) as im:
        fmt = im.format or "JPEG"
        width, height = im.size
        try:
            orientation = im.getexif().get(0x0112, 1)
        except Exception:  # broken EXIF must not stop the catalog
            orientation = 1
        if orientation in (5, 6, 7, 8):
            width, height = height, width
    if fmt not in MIME_BY_FORMAT:
        raise ValueError(f"{path}: unsupported image format {fmt}")
    return {
        "width": width,
        "height": height,
        "size": len(raw),
        "mime": MIME_BY_FORMAT[fmt],
        "sha1": hashlib.sha1(raw, usedforsecurity=False).hexdigest(),
        "ext": EXT_BY_FORMAT[fmt],
    }


def displayed_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).size


def _crc(text: str, modulo: int) -> int:
    return zlib.crc32(text.encode("utf-8")) % modulo


def stable_id(kind: str, key: str, taken: set[int], base: int) -> int:
    """Deterministic ids from a hash of the key; collisions move to the next free number."""
    n = base + _crc(f"{kind}:{key}", 40_000_000)
    while n in taken:
        n += 1
    taken.add(n)
    return n


def timestamp_for(pageid: int) -> str:
    day = pageid % 28 + 1
    month = pageid % 12 + 1
    year = 2015 + pageid % 9
    return f"{year}-{month:02d}-{day:02d}T{pageid % 24:02d}:{pageid % 60:02d}:00Z"


# The builder lives in its own module to keep this one about the data model.
def build_from_faces(faces_dir: str | Path, out_dir: str | Path) -> Catalog:
    """Build the standard test catalog from the labelled photos; see ``standin/README.md``."""
    from standin.faces_catalog import build

    return build(Path(faces_dir), Path(out_dir))


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))
