"""list=categorymembers (also as a generator) and prop=categoryinfo."""

from __future__ import annotations

from typing import Any

from standin.actionapi import errors as E
from standin.actionapi.context import ApiContext
from standin.naming import BadTitle, normalize_title
from standin.state import TYPE_ORDER

_TYPES = {v: k for k, v in TYPE_ORDER.items()}
Member = tuple[int, str, int, str, int]  # (type order, hex sortkey, pageid, title, ns)


def _category_title(ctx: ApiContext, prefix: str) -> str:
    title = ctx.get(f"{prefix}title")
    pageid = ctx.get(f"{prefix}pageid")
    if title is None and pageid is None:
        raise E.ApiError("invalidparammix",
                         f'One of the parameters "{prefix}title" and "{prefix}pageid" is required.')
    if title is None:
        for cat in ctx.world.categories.values():
            if str(cat.pageid) == pageid:
                return cat.title
        raise E.ApiError("nosuchpageid", f"There is no page with ID {pageid}.")
    try:
        ns, canonical = normalize_title(title)
    except BadTitle:
        raise E.ApiError("invalidtitle", f"Bad title \"{title}\".") from None
    if ns != 14:
        raise E.ApiError("invalidcategory", "The category name you entered is not valid.")
    return canonical


def members(ctx: ApiContext, prefix: str = "cm") -> tuple[list[Member], dict[str, Any] | None]:
    """The requested slice of a category and the continuation for the next one."""
    title = _category_title(ctx, prefix)
    types = set(ctx.multi(f"{prefix}type") or ["page", "subcat", "file"])
    namespaces = {int(n) for n in ctx.multi(f"{prefix}namespace", None) if n.lstrip("-").isdigit()}
    limit = ctx.limit(f"{prefix}limit", 10, 500)
    by_time = ctx.get(f"{prefix}sort") == "timestamp"
    descending = ctx.get(f"{prefix}dir", "ascending") in ("desc", "descending", "older")
    with ctx.world.lock:
        rows = [m for m in ctx.world.category_members(title)
                if _TYPES[m[0]] in types and (not namespaces or m[4] in namespaces)]
    if by_time:
        rows.sort(key=lambda m: (_timestamp(ctx, m), m[2]), reverse=descending)
        rows = _time_window(ctx, prefix, rows, descending)
    elif descending:
        rows.reverse()
    start = 0
    cont = ctx.get(f"{prefix}continue")
    if cont is not None:
        start = _resume(rows, cont, by_time, descending, ctx)
    page = rows[start:start + limit]
    nxt = None
    if start + limit < len(rows):
        m = rows[start + limit]
        key = (f"{_timestamp(ctx, m)}|{m[2]}" if by_time else f"{_TYPES[m[0]]}|{m[1]}|{m[2]}")
        nxt = {f"{prefix}continue": key}
    return page, nxt


def _mw_time(ctx: ApiContext, name: str) -> str | None:
    """``cmstart``/``cmend`` as a 14-digit timestamp (ISO 8601 or MediaWiki form accepted)."""
    raw = ctx.get(name)
    if not raw:
        return None
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) != 14:
        raise E.ApiError("badtimestamp", f'Invalid value "{raw}" for timestamp parameter '
                                         f'"{name}".')
    return digits


def _time_window(ctx: ApiContext, prefix: str, rows: list[Member],
                 descending: bool) -> list[Member]:
    start, end = _mw_time(ctx, f"{prefix}start"), _mw_time(ctx, f"{prefix}end")
    low, high = (end, start) if descending else (start, end)
    return [m for m in rows if (low is None or _timestamp(ctx, m) >= low)
            and (high is None or _timestamp(ctx, m) <= high)]


def _resume(rows: list[Member], cont: str, by_time: bool, descending: bool,
            ctx: ApiContext) -> int:
    parts = cont.split("|")
    try:
        if by_time:
            if len(parts) != 2:
                raise ValueError(cont)
            key: tuple[Any, ...] = (parts[0], int(parts[1]))
            keys = [(_timestamp(ctx, m), m[2]) for m in rows]
        else:
            if len(parts) != 3 or parts[0] not in TYPE_ORDER:
                raise ValueError(cont)
            bytes.fromhex(parts[1])
            key = (TYPE_ORDER[parts[0]], parts[1], int(parts[2]))
            keys = [(m[0], m[1], m[2]) for m in rows]
    except (ValueError, IndexError):
        raise E.badcontinue() from None
    for i, k in enumerate(keys):
        if (k <= key) if descending else (k >= key):
            return i
    return len(rows)


def _timestamp(ctx: ApiContext, m: Member) -> str:
    """When the member joined the category; files joined when they were uploaded."""
    page = ctx.world.files.get(m[2]) if m[4] == 6 else None
    ts = page.timestamp if page else "2020-01-01T00:00:00Z"
    return ts.replace("-", "").replace(":", "").replace("T", "").replace("Z", "")


def list_categorymembers(ctx: ApiContext) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    rows, nxt = members(ctx, "cm")
    props = set(ctx.multi("cmprop") or ["ids", "title"])
    out = []
    for m in rows:
        entry: dict[str, Any] = {}
        if "ids" in props:
            entry["pageid"] = m[2]
        if "title" in props:
            entry["ns"] = m[4]
            entry["title"] = m[3]
        if "sortkey" in props:
            entry["sortkey"] = m[1]
        if "sortkeyprefix" in props:
            entry["sortkeyprefix"] = ""
        if "type" in props:
            entry["type"] = _TYPES[m[0]]
        if "timestamp" in props:
            page = ctx.world.files.get(m[2])
            entry["timestamp"] = page.timestamp if page else "2020-01-01T00:00:00Z"
        out.append(entry)
    return out, nxt


def categoryinfo(ctx: ApiContext, title: str) -> dict[str, Any] | None:
    rows = ctx.world.category_members(title)
    cat = ctx.world.categories.get(title)
    if cat is None and not rows:
        return None
    files = sum(1 for m in rows if m[0] == TYPE_ORDER["file"])
    subcats = sum(1 for m in rows if m[0] == TYPE_ORDER["subcat"])
    info: dict[str, Any] = {"size": len(rows), "pages": len(rows) - files - subcats,
                            "files": files, "subcats": subcats}
    if cat is not None and cat.hidden:
        info["hidden"] = ctx.flag()
    return info
