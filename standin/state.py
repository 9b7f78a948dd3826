"""The stand-in's mutable world: pages, entities, revisions, users, settings and logs.

One ``World`` serves every host. Request handlers take ``world.lock`` around anything they read
and change together, so concurrent test clients see each edit whole.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standin.catalog import Catalog, CatalogFile, CatalogUser
from standin.naming import normalize_title, sortkey_hex
from standin.tokens import TokenStore
from standin.wikibase import compact_statement, stable_guid

TYPE_ORDER = {"page": 0, "subcat": 1, "file": 2}
FIRST_NEW_REVID = 900_000_000
MAX_LOGGED_REQUESTS = 50_000


@dataclass
class Settings:
    """Knobs a test may turn through the control API."""

    token_ttl: int = 14400            # access token lifetime, seconds (Wikimedia: 4 h)
    code_ttl: int = 600               # authorization code lifetime
    conflict_policy: str = "patch"    # "patch" (Wikibase-like) or "strict" (any stale baserevid)
    strict_thumb_sizes: bool = False  # refuse non-standard thumbnail widths with 429
    thumb_report: str = "requested"   # thumbwidth: "requested" (as Commons) or "bucket"
    replica_lag: float = 0.0          # seconds; requests with maxlag below it get "maxlag"
    edit_rate_per_minute: int = 0     # >0: Wikibase's rate limit (failed-save, actionthrottled)
    oauth_default_user: str | None = None
    oauth_deny: bool = False
    oauth_grants: list[str] | None = None   # approve only these of the client's grants


@dataclass
class Entity:
    id: str
    kind: str                    # mediainfo | item | property
    pageid: int
    title: str
    ns: int
    exists: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    statements: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    datatype: str = ""
    sitelinks: dict[str, str] = field(default_factory=dict)
    lastrevid: int = 0
    modified: str = "2024-01-01T00:00:00Z"
    revids: set[int] = field(default_factory=set)  # every revision id this page has had

    def all_statements(self) -> list[dict[str, Any]]:
        return [s for stmts in self.statements.values() for s in stmts]

    def find(self, guid: str) -> dict[str, Any] | None:
        for s in self.all_statements():
            if s["id"] == guid:
                return s
        return None

    def add(self, stmt: dict[str, Any]) -> None:
        self.statements.setdefault(stmt["mainsnak"]["property"], []).append(stmt)

    def replace(self, stmt: dict[str, Any]) -> bool:
        for stmts in self.statements.values():
            for i, s in enumerate(stmts):
                if s["id"] == stmt["id"]:
                    stmts[i] = stmt
                    return True
        return False

    def remove(self, guid: str) -> bool:
        for prop, stmts in list(self.statements.items()):
            for i, s in enumerate(stmts):
                if s["id"] == guid:
                    del stmts[i]
                    if not stmts:
                        del self.statements[prop]
                    return True
        return False


@dataclass
class Revision:
    revid: int
    guids: set[str]          # statements this revision added, changed or removed
    cleared: bool = False


@dataclass
class FilePage:
    pageid: int
    title: str
    path: Path
    width: int
    height: int
    size: int
    mime: str
    sha1: str
    timestamp: str
    uploader: str
    categories: list[str]
    description: str
    artist: str
    license: str
    uploaded: str = ""  # time of the latest version when re-uploaded (else ``timestamp``)


@dataclass
class CategoryPage:
    pageid: int
    title: str
    parents: list[str]
    hidden: bool = False


def iso_now(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class World:
    """Everything a request can read or change. ``reset`` restores the catalog state."""

    def __init__(self, catalog: Catalog) -> None:
        self.lock = threading.RLock()
        self.catalog = catalog
        self.settings = Settings()
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.settings = Settings()
            self.clock_offset = 0.0
            self.files: dict[int, FilePage] = {}
            self.titles: dict[str, int] = {}
            self.categories: dict[str, CategoryPage] = {}
            self.mediainfo: dict[int, Entity] = {}
            self.wikidata: dict[str, Entity] = {}
            self.history: dict[str, list[Revision]] = {}
            self.next_revid = FIRST_NEW_REVID
            self.users: dict[str, CatalogUser] = {u.name: u for u in self.catalog.users}
            self.csrf_epoch = 0
            self.oauth = TokenStore()
            self.search_snapshot: dict[int, set[str]] | None = None
            # pageid -> edit protection level ("autoconfirmed" | "sysop"), set by tests
            self.protections: dict[int, str] = {}
            self.requests: list[dict[str, Any]] = []
            self.edit_times: dict[str, list[float]] = {}
            self.edits: list[dict[str, Any]] = []
            self._seq = 0
            for c in self.catalog.categories:
                self.categories[c.title] = CategoryPage(c.pageid, c.title, list(c.parents),
                                                        c.hidden)
            for f in self.catalog.files:
                self._load_file(f)
            for item in self.catalog.items:
                kind = "property" if item.id.startswith("P") else "item"
                ent = Entity(
                    id=item.id, kind=kind, pageid=item.pageid,
                    title=f"Property:{item.id}" if kind == "property" else item.id,
                    ns=120 if kind == "property" else 0,
                    labels=dict(item.labels), descriptions=dict(item.descriptions),
                    aliases=copy.deepcopy(item.aliases), datatype=item.datatype,
                    sitelinks=dict(item.sitelinks),
                    lastrevid=item.revid, modified="2024-03-01T12:00:00Z",
                    revids={item.revid},
                )
                for i, spec in enumerate(item.statements):
                    ent.add(compact_statement(item.id, spec, f"{i}"))
                self.wikidata[item.id] = ent
            self._rebuild_members()

    def _load_file(self, f: CatalogFile) -> None:
        page = FilePage(
            pageid=f.pageid, title=f.title, path=self.catalog.image_path(f), width=f.width,
            height=f.height, size=f.size, mime=f.mime, sha1=f.sha1, timestamp=f.timestamp,
            uploader=f.uploader, categories=list(f.categories), description=f.description,
            artist=f.artist, license=f.license,
        )
        self.files[f.pageid] = page
        self.titles[f.title] = f.pageid
        mid = f"M{f.pageid}"
        ent = Entity(id=mid, kind="mediainfo", pageid=f.pageid, title=f.title, ns=6,
                     exists=f.sdc is not None, lastrevid=f.revid, modified=f.timestamp,
                     revids={f.revid})
        if f.sdc is not None:
            ent.labels = dict(f.sdc.get("labels", {}))
            for i, spec in enumerate(f.sdc.get("statements", [])):
                ent.add(compact_statement(mid, spec, f"{i}"))
        self.mediainfo[f.pageid] = ent

    def add_file(self, f: CatalogFile) -> None:
        """Add a file at run time (control API); it disappears again on reset."""
        with self.lock:
            if f.pageid in self.files or f.title in self.titles:
                raise ValueError(f"file exists: {f.title}")
            self._load_file(f)
            for cat in f.categories:
                self.categories.setdefault(cat, CategoryPage(self._free_pageid(), cat, []))
            self._rebuild_members()

    def reupload(self, title: str, path: Path, facts: dict[str, Any]) -> FilePage:
        """A new version of an existing file (control API): new bytes, SHA-1 and size, and an
        upload time of now; the page, its id, categories and structured data stay."""
        with self.lock:
            page = self.file_by_title(title)
            if page is None:
                raise ValueError(f"no such file: {title}")
            page.path, page.sha1, page.size = path, facts["sha1"], facts["size"]
            page.width, page.height, page.mime = facts["width"], facts["height"], facts["mime"]
            page.uploaded = iso_now(self.now())
            return page

    def protect(self, title: str, level: str) -> FilePage:
        """Edit-protect a file page at ``level`` ("autoconfirmed", "sysop"; "" lifts it)."""
        if level not in ("", "autoconfirmed", "sysop"):
            raise ValueError(f"unknown protection level {level!r}")
        with self.lock:
            page = self.file_by_title(title)
            if page is None:
                raise ValueError(f"no such file: {title}")
            if level:
                self.protections[page.pageid] = level
            else:
                self.protections.pop(page.pageid, None)
            return page

    def _free_pageid(self) -> int:
        used = set(self.files) | {c.pageid for c in self.categories.values()}
        n = 30_000_000
        while n in used:
            n += 1
        return n

    # -- clock, ids, logs ----------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset

    def new_revid(self) -> int:
        with self.lock:
            self.next_revid += 1
            return self.next_revid

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self._seq += 1
            entry["seq"] = self._seq
            self.requests.append(entry)
            if len(self.requests) > MAX_LOGGED_REQUESTS:  # a long CLI session stays bounded
                del self.requests[: MAX_LOGGED_REQUESTS // 5]

    def log_edit(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self._seq += 1
            entry["seq"] = self._seq
            self.edits.append(entry)

    # -- lookups -------------------------------------------------------------------------------
    def file_by_title(self, title: str) -> FilePage | None:
        try:
            canonical = normalize_title(title)[1]
        except ValueError:
            return None
        pageid = self.titles.get(canonical)
        return self.files.get(pageid) if pageid else None

    def entity(self, entity_id: str) -> Entity | None:
        if entity_id.startswith("M") and entity_id[1:].isdigit():
            return self.mediainfo.get(int(entity_id[1:]))
        return self.wikidata.get(entity_id)

    def touch(self, ent: Entity, guids: set[str], cleared: bool = False) -> int:
        """Record a new revision of ``ent`` and return its id."""
        revid = self.new_revid()
        self.history.setdefault(ent.id, []).append(Revision(revid, set(guids), cleared))
        ent.lastrevid = revid
        ent.revids.add(revid)
        ent.modified = iso_now(self.now())
        ent.exists = True
        return revid

    def changed_since(self, ent: Entity, baserevid: int) -> list[Revision]:
        return [r for r in self.history.get(ent.id, []) if r.revid > baserevid]

    # -- categories ----------------------------------------------------------------------------
    def _rebuild_members(self) -> None:
        members: dict[str, list[tuple[int, str, int, str, int]]] = {}
        for cat in self.categories.values():
            for parent in cat.parents:
                members.setdefault(parent, []).append(
                    (TYPE_ORDER["subcat"], sortkey_hex(cat.title), cat.pageid, cat.title, 14))
        for page in self.files.values():
            for parent in page.categories:
                members.setdefault(parent, []).append(
                    (TYPE_ORDER["file"], sortkey_hex(page.title), page.pageid, page.title, 6))
        for lst in members.values():
            lst.sort()
        self.members = members

    def category_members(self, title: str) -> list[tuple[int, str, int, str, int]]:
        return self.members.get(title, [])

    def category_pageid(self, title: str) -> int | None:
        cat = self.categories.get(title)
        return cat.pageid if cat else None

    # -- search --------------------------------------------------------------------------------
    def statement_index(self) -> dict[int, set[str]]:
        """``{pageid: {"P180=Q1", ...}}`` for haswbstatement, live or the frozen snapshot."""
        if self.search_snapshot is not None:
            return self.search_snapshot
        return self._live_index()

    def _live_index(self) -> dict[int, set[str]]:
        index: dict[int, set[str]] = {}
        for pageid, ent in self.mediainfo.items():
            keys: set[str] = set()
            for s in ent.all_statements():
                snak = s["mainsnak"]
                keys.add(snak["property"])
                dv = snak.get("datavalue")
                if dv and dv["type"] == "wikibase-entityid":
                    keys.add(f"{snak['property']}={dv['value']['id']}")
                elif dv and dv["type"] == "string":
                    keys.add(f"{snak['property']}={dv['value']}")
            index[pageid] = keys
        return index

    def freeze_search(self) -> None:
        with self.lock:
            self.search_snapshot = self._live_index()

    def thaw_search(self) -> None:
        with self.lock:
            self.search_snapshot = None


def guid_for(entity_id: str, seed: str) -> str:
    return stable_guid(entity_id, seed)
