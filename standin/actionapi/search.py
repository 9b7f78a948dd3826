"""list=search (and generator=search) over files: titles, descriptions, captions, statements.

Supports the CirrusSearch keywords a depicts tool uses: ``haswbstatement:P180=Q1|P180=Q2``
(OR inside one keyword, AND between keywords, ``-`` negates), ``incategory:Name``,
``filetype:bitmap`` (raster images; ``drawing`` for SVG), and words or ``"quoted phrases"``
matched against the title, the description and the captions (case-insensitive). ``srsort``:
``create_timestamp_desc``/``_asc`` order by upload time, anything else by page id (the
stand-in has no relevance). The statement index is live unless a test freezes it
(``World.freeze_search``), which imitates the search index lagging behind edits.
"""

from __future__ import annotations

import shlex
from typing import Any

from standin.actionapi import errors as E
from standin.actionapi.context import ApiContext
from standin.naming import strip_namespace

MAX_WINDOW = 10_000
FILETYPES = {"bitmap": {"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff",
                        "image/bmp"},
             "drawing": {"image/svg+xml"}}
BY_UPLOAD = {"create_timestamp_desc": True, "create_timestamp_asc": False}


def _terms(query: str) -> list[str]:
    try:
        return shlex.split(query)
    except ValueError:
        return query.split()


def matches(ctx: ApiContext, query: str, namespaces: set[int],
            sort: str | None = None) -> list[tuple[int, str, int]]:
    """(pageid, title, ns) of every page the query finds, in ``sort`` order (else by id)."""
    world = ctx.world
    index = world.statement_index()
    candidates: list[tuple[int, str, int]] = []
    if 6 in namespaces:
        candidates += [(p.pageid, p.title, 6) for p in world.files.values()]
    if 14 in namespaces:
        candidates += [(c.pageid, c.title, 14) for c in world.categories.values()]
    result = []
    for pageid, title, ns in candidates:
        if all(_term_ok(ctx, term, pageid, title, ns, index) for term in _terms(query)):
            result.append((pageid, title, ns))
    if sort in BY_UPLOAD:
        result.sort(key=lambda hit: (_uploaded(world, hit[0]), hit[0]),
                    reverse=BY_UPLOAD[sort])
    else:
        result.sort()
    return result


def _uploaded(world: Any, pageid: int) -> str:
    page = world.files.get(pageid)
    return page.timestamp if page else ""


def _term_ok(ctx: ApiContext, term: str, pageid: int, title: str, ns: int,
             index: dict[int, set[str]]) -> bool:
    negate = term.startswith("-")
    term = term.lstrip("-")
    key, _, value = term.partition(":")
    key = key.lower()
    if key == "haswbstatement" and value:
        ok = ns == 6 and any(alt in index.get(pageid, set()) for alt in value.split("|"))
    elif key == "incategory" and value:
        wanted = {f"Category:{v.replace('_', ' ')}" for v in value.split("|")}
        page = ctx.world.files.get(pageid) if ns == 6 else None
        ok = bool(page and wanted & set(page.categories))
    elif key == "filetype" and value:
        page = ctx.world.files.get(pageid) if ns == 6 else None
        ok = bool(page and page.mime in FILETYPES.get(value.lower(), set()))
    elif key in ("filemime", "insource"):
        ok = True  # accepted, not modelled
    else:
        ok = term.lower() in _text(ctx, pageid, title, ns)
    return ok != negate


def _text(ctx: ApiContext, pageid: int, title: str, ns: int) -> str:
    """What words match: the title, and for files the description and captions."""
    parts = [strip_namespace(title)]
    page = ctx.world.files.get(pageid) if ns == 6 else None
    if page is not None:
        parts.append(page.description)
        parts.extend(ctx.world.mediainfo[pageid].labels.values())
    return "\n".join(parts).lower()


def search(ctx: ApiContext, prefix: str = "sr") -> tuple[list[tuple[int, str, int]], int,
                                                          dict[str, Any] | None]:
    query = ctx.get(f"{prefix}search")
    if not query:
        raise E.missingparam(f"{prefix}search")
    namespaces = {int(n) for n in (ctx.multi(f"{prefix}namespace", None) or ["0"])}
    limit = ctx.limit(f"{prefix}limit", 10, 500)
    offset = int(ctx.get(f"{prefix}offset", "0") or 0)
    if offset + limit > MAX_WINDOW:
        raise E.ApiError("toomanyresults" if offset < MAX_WINDOW else "badvalue",
                         f"Search is currently limited to {MAX_WINDOW} results per query.")
    with ctx.world.lock:
        found = matches(ctx, query, namespaces, ctx.get(f"{prefix}sort"))
    page = found[offset:offset + limit]
    nxt = {f"{prefix}offset": offset + limit} if offset + limit < len(found) else None
    return page, len(found), nxt


def list_search(ctx: ApiContext) -> tuple[dict[str, Any], list[dict[str, Any]],
                                          dict[str, Any] | None]:
    page, total, nxt = search(ctx, "sr")
    props = set(ctx.multi("srprop") if "srprop" in ctx.params
                else ["size", "wordcount", "timestamp", "snippet"])
    hits = []
    for pageid, title, ns in page:
        hit: dict[str, Any] = {"ns": ns, "title": title, "pageid": pageid}
        f = ctx.world.files.get(pageid)
        if "size" in props:
            hit["size"] = len(title) * 20 + 400
        if "wordcount" in props:
            hit["wordcount"] = 40 + len(title.split())
        if "snippet" in props:
            hit["snippet"] = ""
        if "timestamp" in props:
            hit["timestamp"] = f.timestamp if f else "2020-01-01T00:00:00Z"
        hits.append(hit)
    info_props = ctx.multi("srinfo") if "srinfo" in ctx.params else ["totalhits"]
    info = {"totalhits": total} if "totalhits" in info_props else {}
    return info, hits, nxt
