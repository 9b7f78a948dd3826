"""Commons reads: category members, image info, category info, search, protection, MediaInfo."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import quote

from likeness.wiki.api import ActionApi
from likeness.wiki.errors import ResponseFormatError
from likeness.wiki.statements import (
    DEPICTS,
    Statement,
    check_mid,
    check_qid,
    parse_statements,
)
from likeness.wiki.titles import category_title, file_title

__all__ = [
    "CategoryInfo", "CategoryMember", "ImageInfo", "ImageInfos", "MediaInfo", "Missing",
    "MissingFile", "SearchHit", "SearchResult", "Statement", "category_info",
    "category_members", "edit_protections", "file_sha1s", "get_mediainfo", "image_infos",
    "search_count",
    "search_depicts", "search_files", "subcategories",
]

BATCH = 50                 # ids/titles per request; also imageinfo's 50-thumbnail limit
URL_BUDGET = 6000          # encoded characters of titles per GET (Varnish refuses very long URLs)
SEARCH_WINDOW = 10_000     # CirrusSearch refuses sroffset + srlimit beyond this


@dataclass(frozen=True)
class CategoryMember:
    pageid: int
    ns: int
    title: str
    type: str                     # "file" | "subcat" | "page"
    timestamp: str | None = None  # when it was added to the category (with cmprop=timestamp)


@dataclass(frozen=True)
class ImageInfo:
    """A file and the thumbnail Commons made for it. Read ``thumb_width``/``thumb_height``
    rather than the width in ``thumb_url`` (Commons may serve a larger standard bucket)."""

    pageid: int
    title: str
    url: str
    thumb_url: str | None
    thumb_width: int | None
    thumb_height: int | None
    width: int
    height: int
    mime: str
    size: int
    sha1: str = ""                # of the original: a new one means the file was re-uploaded


@dataclass(frozen=True)
class MissingFile:
    """A requested file that does not exist (deleted, never uploaded, or an invalid title)."""

    title: str | None
    pageid: int | None
    reason: str = "missing"


class CategoryInfo(NamedTuple):
    files: int
    subcats: int
    exists: bool


@dataclass(frozen=True)
class SearchHit:
    pageid: int
    title: str


@dataclass(frozen=True)
class MediaInfo:
    """A file's structured data. ``lastrevid`` is the file page's revision (the baserevid)."""

    mid: str
    pageid: int
    title: str
    lastrevid: int
    statements: dict[str, list[Statement]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def depicts(self) -> list[Statement]:
        return list(self.statements.get(DEPICTS, []))

    def depicts_qids(self) -> set[str]:
        return {s.value_qid for s in self.depicts() if s.value_qid}


@dataclass(frozen=True)
class Missing:
    """No MediaInfo for this id: the file has no structured data yet (a valid empty state;
    writing creates it) or no such file page exists. The API does not tell the two apart."""

    mid: str


# ---- categories ----------------------------------------------------------------------------

def category_members(
    api: ActionApi,
    category: str,
    types: Sequence[str] = ("file", "subcat"),
    since: dt.datetime | str | None = None,
    limit: int | str = "max",
) -> Iterator[list[CategoryMember]]:
    """Members of one category, one API answer at a time (not recursive; the caller walks
    subcats and remembers visited categories, as the Commons category graph has cycles).

    ``since``: only members added to the category at or after this time (naive UTC or an ISO
    string). This needs ``cmsort=timestamp``; ``cmdir=newer`` lists oldest first, so
    ``cmstart`` is the lower bound. Subcats come before files with the default sort.
    """
    params: dict[str, Any] = {
        "action": "query", "list": "categorymembers", "cmtitle": category_title(category),
        "cmtype": list(types), "cmprop": "ids|title|type|timestamp", "cmlimit": limit,
    }
    if since is not None:
        params.update(cmsort="timestamp", cmdir="newer", cmstart=_mw_timestamp(since))
    for doc in api.continued(params):
        members = doc.get("query", {}).get("categorymembers", [])
        if not isinstance(members, list):
            raise ResponseFormatError(f"categorymembers: unexpected answer {str(doc)[:200]}")
        yield [CategoryMember(pageid=int(m["pageid"]), ns=int(m["ns"]), title=m["title"],
                              type=m.get("type") or _type_for_ns(int(m["ns"])),
                              timestamp=m.get("timestamp"))
               for m in members]


def subcategories(api: ActionApi, category: str) -> list[str]:
    """Names (without ``Category:``) of a category's subcategories."""
    return [member.title.split(":", 1)[1]
            for page in category_members(api, category, types=("subcat",))
            for member in page]


def category_info(api: ActionApi, category: str) -> CategoryInfo:
    """(files, subcats, exists). A category page may be missing while it still has members."""
    doc = api.get({"action": "query", "prop": "categoryinfo",
                   "titles": category_title(category)})
    pages = _pages(doc)
    if not pages:
        raise ResponseFormatError(f"no page in categoryinfo answer for {category!r}")
    page = pages[0]
    info = page.get("categoryinfo") or {}
    exists = "missing" not in page and "invalid" not in page
    return CategoryInfo(int(info.get("files", 0)), int(info.get("subcats", 0)), exists)


# ---- image info ----------------------------------------------------------------------------

class ImageInfos(NamedTuple):
    found: list[ImageInfo]       # in request order
    missing: list[MissingFile]

    def by_pageid(self) -> dict[int, ImageInfo]:
        return {info.pageid: info for info in self.found}


def image_infos(
    api: ActionApi, titles_or_pageids: Iterable[str | int], thumb_width: int
) -> ImageInfos:
    """Image info with a ``thumb_width`` px thumbnail, and the files that do not exist.

    Ints are page ids, strings are titles (``File:`` added when absent). Batches of 50 (the
    API's limit for titles/pageids and for thumbnails per request); should an answer still
    carry ``iicontinue``, the parts are merged by pageid."""
    items = list(titles_or_pageids)
    pageids = [int(i) for i in items if isinstance(i, int)]
    titles = [file_title(i) for i in items if not isinstance(i, int)]
    found: dict[int, ImageInfo] = {}
    by_title: dict[str, int] = {}
    missing: dict[tuple[str | None, int | None], MissingFile] = {}
    for key, batch in [("pageids", b) for b in _batches([str(p) for p in pageids])] \
            + [("titles", b) for b in _batches(titles)]:
        _fetch_batch(api, key, batch, thumb_width, found, by_title, missing)
    ordered: list[ImageInfo] = []
    seen: set[int] = set()
    for item in items:
        pid = item if isinstance(item, int) else by_title.get(file_title(item))
        if pid is not None and pid in found and pid not in seen:
            ordered.append(found[pid])
            seen.add(pid)
    ordered.extend(info for pid, info in found.items() if pid not in seen)
    return ImageInfos(ordered, list(missing.values()))


def _fetch_batch(api: ActionApi, key: str, batch: list[str], thumb_width: int,
                 found: dict[int, ImageInfo], by_title: dict[str, int],
                 missing: dict[tuple[str | None, int | None], MissingFile]) -> None:
    params = {"action": "query", "prop": "imageinfo", key: batch,
              "iiprop": "url|size|mime|sha1", "iiurlwidth": int(thumb_width)}
    for doc in api.continued(params):
        query = doc.get("query", {})
        aliases = {n["from"]: n["to"] for n in query.get("normalized", [])}
        for page in _pages(doc):
            title, pageid = page.get("title"), page.get("pageid")
            if "missing" in page or "invalid" in page:
                reason = "invalid" if "invalid" in page else "missing"
                missing[(title, pageid)] = MissingFile(title, pageid, reason)
                continue
            infos = page.get("imageinfo")
            if not infos:
                continue            # listed without imageinfo: it comes with iicontinue
            info = infos[0]
            if "filemissing" in info or "url" not in info:
                missing[(title, pageid)] = MissingFile(title, pageid, "filemissing")
                continue
            # A page that is neither missing nor invalid has both.
            found[int(page["pageid"])] = _image_info(page, info)
            by_title[page["title"]] = int(page["pageid"])
        for src, dst in aliases.items():
            if dst in by_title:
                by_title[src] = by_title[dst]


def _image_info(page: dict[str, Any], info: dict[str, Any]) -> ImageInfo:
    def opt_int(name: str) -> int | None:
        return int(info[name]) if info.get(name) is not None else None

    return ImageInfo(
        pageid=int(page["pageid"]), title=page["title"], url=info["url"],
        thumb_url=info.get("thumburl"), thumb_width=opt_int("thumbwidth"),
        thumb_height=opt_int("thumbheight"), width=int(info.get("width", 0)),
        height=int(info.get("height", 0)), mime=str(info.get("mime", "")),
        size=int(info.get("size", 0)), sha1=str(info.get("sha1", "")),
    )


def file_sha1s(api: ActionApi, pageids: Iterable[int]) -> dict[int, str]:
    """The SHA-1 of each file's current original, by page id (missing files left out): a
    changed one means the file was re-uploaded."""
    out: dict[int, str] = {}
    for batch in _batches([str(int(p)) for p in pageids]):
        for doc in api.continued({"action": "query", "prop": "imageinfo", "iiprop": "sha1",
                                  "pageids": batch}):
            for page in _pages(doc):
                infos = page.get("imageinfo") or []
                if "pageid" in page and infos and infos[0].get("sha1"):
                    out[int(page["pageid"])] = str(infos[0]["sha1"])
    return out


# ---- search ----------------------------------------------------------------------------

class SearchResult(NamedTuple):
    hits: list[SearchHit]
    capped: bool                  # stopped at the limit (or CirrusSearch's window) with more left


def search_files(
    api: ActionApi, query: str, limit: int, *, newest_first: bool = False,
    page_size: int = 500,
) -> SearchResult:
    """Files (namespace 6) CirrusSearch finds for ``query``, at most ``limit``; with
    ``newest_first`` the most recent uploads come first (``srsort=create_timestamp_desc``),
    so a capped re-run still sees new uploads. The index lags behind edits."""
    limit = min(int(limit), SEARCH_WINDOW)
    hits: list[SearchHit] = []
    params: dict[str, Any] = {
        "action": "query", "list": "search", "srsearch": query, "srnamespace": 6,
        "srlimit": max(1, min(limit, page_size, 500)), "srprop": "", "srinfo": ""}
    if newest_first:
        params["srsort"] = "create_timestamp_desc"
    for doc in api.continued(params):
        for hit in doc.get("query", {}).get("search", []):
            if len(hits) >= limit:
                return SearchResult(hits, True)
            hits.append(SearchHit(int(hit["pageid"]), hit["title"]))
        more = doc.get("continue") or {}
        if "sroffset" in more and (len(hits) >= limit or int(more["sroffset"])
                                   + params["srlimit"] > SEARCH_WINDOW):
            return SearchResult(hits, True)
    return SearchResult(hits, False)


def search_count(api: ActionApi, query: str) -> int:
    """How many files CirrusSearch finds for ``query`` (its ``totalhits``)."""
    doc = api.get({"action": "query", "list": "search", "srsearch": query, "srnamespace": 6,
                   "srlimit": 1, "srprop": "", "srinfo": "totalhits"})
    return int(doc.get("query", {}).get("searchinfo", {}).get("totalhits", 0))


def search_depicts(
    api: ActionApi, qid: str, limit: int = 1000, *, page_size: int = 500
) -> list[SearchHit]:
    """Files whose structured data says ``P180 = qid`` (CirrusSearch ``haswbstatement``).
    The index lags behind edits: never use this to confirm a write."""
    check_qid(qid)
    return search_files(api, f"haswbstatement:P180={qid}", limit, page_size=page_size).hits


# ---- protection ----------------------------------------------------------------------------

def edit_protections(api: ActionApi, pageids: Iterable[int]) -> dict[int, list[str]]:
    """Edit protection of each page (``prop=info&inprop=protection``): the levels of its
    ``edit`` restrictions, cascading ones included (``"sysop"``, ``"autoconfirmed"``...);
    an empty list for an unprotected page."""
    out: dict[int, list[str]] = {}
    for batch in _batches([str(int(p)) for p in pageids]):
        doc = api.get({"action": "query", "prop": "info", "inprop": "protection",
                       "pageids": batch})
        for page in _pages(doc):
            if "pageid" not in page or "missing" in page:
                continue
            out[int(page["pageid"])] = [
                str(p.get("level", "")) for p in page.get("protection") or []
                if p.get("type") == "edit"]
    return out


# ---- MediaInfo -----------------------------------------------------------------------------

def get_mediainfo(api: ActionApi, mids: Iterable[str]) -> dict[str, MediaInfo | Missing]:
    """MediaInfo entities by id (``M<pageid>``), 50 per request."""
    ids = [check_mid(m) for m in dict.fromkeys(mids)]
    result: dict[str, MediaInfo | Missing] = {}
    for batch in _batches(ids):
        doc = api.get({"action": "wbgetentities", "ids": batch, "props": "info|claims|labels"})
        for key, ent in (doc.get("entities") or {}).items():
            mid = str(ent.get("id", key))
            result[mid] = Missing(mid) if "missing" in ent else parse_mediainfo(ent)
    return result


def parse_mediainfo(ent: dict[str, Any]) -> MediaInfo:
    """An entity from wbgetentities or from a write's ``entity`` answer."""
    mid = str(ent["id"])
    labels = ent.get("labels") or {}
    return MediaInfo(
        mid=mid, pageid=int(ent.get("pageid") or mid[1:]), title=str(ent.get("title", "")),
        lastrevid=int(ent.get("lastrevid", 0)),
        statements=parse_statements(ent.get("statements")),
        labels={k: v["value"] for k, v in labels.items()} if isinstance(labels, dict) else {},
    )


# ---- helpers -------------------------------------------------------------------------------

def _pages(doc: dict[str, Any]) -> list[dict[str, Any]]:
    pages = doc.get("query", {}).get("pages", [])
    return list(pages.values()) if isinstance(pages, dict) else list(pages)


def _batches(values: list[str], size: int = BATCH) -> Iterator[list[str]]:
    """Chunks of at most ``size`` values whose URL-encoded length stays under URL_BUDGET."""
    batch: list[str] = []
    used = 0
    for value in values:
        cost = len(quote(value, safe="")) + 3
        if batch and (len(batch) >= size or used + cost > URL_BUDGET):
            yield batch
            batch, used = [], 0
        batch.append(value)
        used += cost
    if batch:
        yield batch


def _type_for_ns(ns: int) -> str:
    return {6: "file", 14: "subcat"}.get(ns, "page")


def _mw_timestamp(when: dt.datetime | str) -> str:
    if isinstance(when, str):
        return when
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
