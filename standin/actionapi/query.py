"""action=query: the page set (titles, pageids or a generator), prop/list/meta modules and
MediaWiki's continuation rules (ApiContinuationManager)."""

from __future__ import annotations

from typing import Any

from standin.actionapi import categories, imageinfo, meta, search
from standin.actionapi import errors as E
from standin.actionapi.context import ApiContext
from standin.naming import BadTitle, normalize_title

PROPS = {"imageinfo", "categoryinfo", "info", "categories"}
LISTS = {"categorymembers", "search"}
METAS = {"tokens", "userinfo", "siteinfo"}
GENERATORS = {"categorymembers": "gcm", "search": "gsr"}


def run(ctx: ApiContext) -> dict[str, Any]:
    props = ctx.multi("prop")
    lists = ctx.multi("list")
    metas = ctx.multi("meta")
    for value, known, name in ((props, PROPS, "prop"), (lists, LISTS, "list"),
                               (metas, METAS, "meta")):
        for v in value:
            if v not in known:
                raise E.badvalue(name, v)
    query: dict[str, Any] = {}
    list_cont: dict[str, Any] = {}
    gen = ctx.get("generator")
    gen_cont = None
    pages: list[dict[str, Any]] | None = None
    if gen is not None:
        if gen not in GENERATORS:
            raise E.badvalue("generator", gen)
        pages, gen_cont = _generate(ctx, gen)
    elif any(ctx.has(p) for p in ("titles", "pageids")):
        pages = _pages_from_titles(ctx, query)

    prop_cont: dict[str, Any] = {}
    if pages is not None:
        if "imageinfo" in props:
            prop_cont.update(imageinfo.add_imageinfo(ctx, pages) or {})
        for page in pages:
            _add_simple_props(ctx, page, props)
        query["pages"] = _page_container(ctx, pages)

    if "categorymembers" in lists:
        rows, nxt = categories.list_categorymembers(ctx)
        query["categorymembers"] = rows
        list_cont.update(nxt or {})
    if "search" in lists:
        info, hits, nxt = search.list_search(ctx)
        if info:
            query["searchinfo"] = info
        query["search"] = hits
        list_cont.update(nxt or {})
    if "tokens" in metas:
        query["tokens"] = meta.tokens(ctx)
    if "userinfo" in metas:
        query["userinfo"] = meta.userinfo(ctx)
    if "siteinfo" in metas:
        query.update(meta.siteinfo(ctx))

    body: dict[str, Any] = {}
    cont, complete = _continuation(ctx, gen, gen_cont, list_cont, prop_cont)
    if complete:
        body["batchcomplete"] = ctx.flag()
    if cont:
        body["continue"] = cont
    if query:
        body["query"] = query
    return body


def _continuation(ctx: ApiContext, gen: str | None, gen_cont: dict[str, Any] | None,
                  list_cont: dict[str, Any], prop_cont: dict[str, Any]
                  ) -> tuple[dict[str, Any], bool]:
    """While a prop module is unfinished the ORIGINAL generator parameters are repeated and the
    batch is incomplete; only then does the generator advance (with batchcomplete)."""
    if prop_cont:
        cont = dict(prop_cont)
        cont.update(list_cont)
        orig = {}
        if gen is not None:
            key = f"{GENERATORS[gen]}{'continue' if gen == 'categorymembers' else 'offset'}"
            if key in ctx.params:
                orig[key] = ctx.params[key]
        cont.update(orig)
        cont["continue"] = "|".join(orig) + "||"
        return cont, False
    if gen_cont:
        cont = dict(gen_cont)
        cont.update(list_cont)
        cont["continue"] = "|".join(gen_cont) + "||"
        return cont, True
    if list_cont:
        return {**list_cont, "continue": "-||"}, True
    return {}, True


def _generate(ctx: ApiContext, gen: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    if gen == "categorymembers":
        rows, nxt = categories.members(ctx, "gcm")
        return [{"pageid": m[2], "ns": m[4], "title": m[3]} for m in rows], nxt
    hits, _total, nxt = search.search(ctx, "gsr")
    offset = int(ctx.get("gsroffset", "0") or 0)
    return [{"pageid": pid, "ns": ns, "title": title, "index": offset + i + 1}
            for i, (pid, title, ns) in enumerate(hits)], nxt


def _pages_from_titles(ctx: ApiContext, query: dict[str, Any]) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    normalized = []
    fake = -1
    for raw in ctx.multi("titles"):
        try:
            ns, title = normalize_title(raw)
        except BadTitle:
            pages.append({"title": raw, "invalidreason": "The requested page title is invalid.",
                          "invalid": ctx.flag()})
            continue
        if title != raw:
            entry = {"fromencoded": False, "from": raw, "to": title} if ctx.fv == 2 else \
                {"from": raw, "to": title}
            normalized.append(entry)
        pageid = _existing(ctx, ns, title)
        if pageid is not None:
            pages.append({"pageid": pageid, "ns": ns, "title": title})
        else:
            pages.append({"ns": ns, "title": title, "missing": ctx.flag(), "_fake": fake})
            fake -= 1
    for raw in ctx.multi("pageids"):
        pid = int(raw) if raw.isdigit() else -1
        if pid in ctx.world.files:
            pages.append({"pageid": pid, "ns": 6, "title": ctx.world.files[pid].title})
            continue
        cat = next((c for c in ctx.world.categories.values() if c.pageid == pid), None)
        if cat:
            pages.append({"pageid": pid, "ns": 14, "title": cat.title})
        else:
            pages.append({"pageid": pid, "missing": ctx.flag()})
    if normalized:
        query["normalized"] = normalized
    return pages


def _existing(ctx: ApiContext, ns: int, title: str) -> int | None:
    if ns == 6:
        page = ctx.world.file_by_title(title)
        return page.pageid if page else None
    if ns == 14:
        return ctx.world.category_pageid(title)
    return None


def _add_simple_props(ctx: ApiContext, page: dict[str, Any], props: list[str]) -> None:
    if "categoryinfo" in props and page.get("ns") == 14:
        info = categories.categoryinfo(ctx, page["title"])
        if info is not None:
            page["categoryinfo"] = info
    if "missing" in page or "invalid" in page:
        return
    f = ctx.world.files.get(page.get("pageid", 0)) if page.get("ns") == 6 else None
    if "categories" in props and f is not None:
        page["categories"] = [{"ns": 14, "title": c} for c in f.categories]
    if "info" in props:
        revid = ctx.world.mediainfo[f.pageid].lastrevid if f else 1
        page.update({"contentmodel": "wikitext", "pagelanguage": "en",
                     "pagelanguagehtmlcode": "en", "pagelanguagedir": "ltr",
                     "touched": f.timestamp if f else "2020-01-01T00:00:00Z",
                     "lastrevid": revid, "length": 1200})
        if "protection" in ctx.multi("inprop"):
            level = ctx.world.protections.get(f.pageid) if f else None
            page["protection"] = ([{"type": "edit", "level": level, "expiry": "infinity"}]
                                  if level else [])
            page["restrictiontypes"] = ["edit", "move", "upload"] if f else ["edit", "move"]


def _page_container(ctx: ApiContext, pages: list[dict[str, Any]]) -> Any:
    good = sorted((p for p in pages if "missing" not in p and "invalid" not in p),
                  key=lambda p: p["pageid"])
    bad = [p for p in pages if "missing" in p or "invalid" in p]
    ordered = good + bad
    if ctx.fv == 2:
        return [{k: v for k, v in p.items() if k != "_fake"} for p in ordered]
    out: dict[str, Any] = {}
    fake = -1
    for p in ordered:
        key = str(p["pageid"]) if "pageid" in p else str(p.get("_fake", fake))
        fake -= 1
        out[key] = {k: v for k, v in p.items() if k != "_fake"}
    return out
