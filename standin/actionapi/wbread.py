"""wbgetentities, wbgetclaims and wbsearchentities."""

from __future__ import annotations

from typing import Any

from standin.actionapi import errors as E
from standin.actionapi.context import ApiContext
from standin.actionapi.entities import DEFAULT_PROPS, serialize
from standin.state import Entity
from standin.wikibase import ENTITY_ID_RE, GUID_RE, with_datatypes

SITES = {"commons": "commonswiki", "wikidata": "wikidatawiki"}


def lookup(ctx: ApiContext, entity_id: str) -> Entity | None:
    """The entity if this site holds it; raises no-such-entity for ids this site cannot hold."""
    if not ENTITY_ID_RE.match(entity_id):
        raise E.no_such_entity(entity_id)
    if ctx.site == "commons" and not entity_id.startswith("M"):
        raise E.no_such_entity(entity_id)
    if ctx.site == "wikidata" and entity_id.startswith("M"):
        raise E.no_such_entity(entity_id)
    return ctx.world.entity(entity_id)


def wbgetentities(ctx: ApiContext) -> dict[str, Any]:
    ids = ctx.multi("ids")
    sites, titles = ctx.multi("sites"), ctx.multi("titles")
    if not ids and not (sites and titles):
        raise E.param_missing('Either provide the item "ids" or pairs of "sites" and "titles" '
                              "for corresponding pages")
    props = set(ctx.multi("props") or DEFAULT_PROPS)
    languages = ctx.multi("languages", None) or None
    entities: dict[str, Any] = {}
    with ctx.world.lock:
        fallback = ctx.has("languagefallback")
        for entity_id in ids:
            ent = lookup(ctx, entity_id.strip().upper())
            entities[entity_id] = _entity_or_missing(ent, entity_id, props, languages, fallback)
        fake = -1
        for title in titles:
            site = sites[0]
            page = ctx.world.file_by_title(title) if site == "commonswiki" else None
            if page is None:
                entities[str(fake)] = {"site": site, "title": title, "missing": ""}
                fake -= 1
                continue
            ent = ctx.world.mediainfo[page.pageid]
            entities[ent.id] = _entity_or_missing(ent, ent.id, props, languages,
                                                  ctx.has("languagefallback"))
    return {"entities": entities, "success": 1}


def _entity_or_missing(ent: Entity | None, entity_id: str, props: set[str],
                       languages: list[str] | None, fallback: bool = False) -> dict[str, Any]:
    if ent is None or not ent.exists:
        return {"id": entity_id, "missing": ""}
    return serialize(ent, props, languages, fallback=fallback)


def wbgetclaims(ctx: ApiContext) -> dict[str, Any]:
    guid = ctx.get("claim")
    entity_id = ctx.get("entity")
    if guid:
        m = GUID_RE.match(guid)
        if not m:
            raise E.invalid_guid()
        entity_id = m.group(1)
    if not entity_id:
        raise E.param_missing('Either the parameter "entity" or "claim" needs to be set')
    with ctx.world.lock:
        ent = lookup(ctx, entity_id)
        if ent is None:
            raise E.no_such_entity(entity_id)
        stmts = ent.all_statements()
    if guid:
        stmts = [s for s in stmts if s["id"] == guid]
    prop = ctx.get("property")
    if prop:
        stmts = [s for s in stmts if s["mainsnak"]["property"] == prop]
    rank = ctx.get("rank")
    if rank:
        stmts = [s for s in stmts if s["rank"] == rank]
    claims: dict[str, list[dict[str, Any]]] = {}
    for s in stmts:
        out = with_datatypes(s) if ent.kind != "mediainfo" else s
        claims.setdefault(s["mainsnak"]["property"], []).append(out)
    return {"claims": claims}


def wbsearchentities(ctx: ApiContext) -> dict[str, Any]:
    text = ctx.get("search")
    if not text:
        raise E.missingparam("search")
    language = ctx.get("language")
    if not language:
        raise E.missingparam("language")
    etype = ctx.get("type", "item")
    limit = ctx.limit("limit", 7, 50)
    offset = int(ctx.get("continue", "0") or 0)
    hits = []
    with ctx.world.lock:
        for ent in sorted(ctx.world.wikidata.values(), key=lambda e: int(e.id[1:])):
            if ent.kind != etype:
                continue
            match = _match(ent, text, language, ctx.has("strictlanguage"))
            if match is not None:
                hits.append(_hit(ctx, ent, match, ctx.get("uselang") or language))
    page = hits[offset:offset + limit]
    body: dict[str, Any] = {"searchinfo": {"search": text}, "search": page}
    if offset + limit < len(hits):
        body["search-continue"] = offset + limit
    body["success"] = 1
    return body


def _match(ent: Entity, text: str, language: str, strict: bool) -> dict[str, Any] | None:
    if text.strip().upper() == ent.id:
        return {"type": "entityId", "text": ent.id}
    needle = text.strip().lower()
    langs = [language] if strict else [language, "en"]
    for lang in dict.fromkeys(langs):
        label = ent.labels.get(lang)
        if label and label.lower().startswith(needle):
            return {"type": "label", "language": lang, "text": label}
        for alias in ent.aliases.get(lang, []):
            if alias.lower().startswith(needle):
                return {"type": "alias", "language": lang, "text": alias}
    return None


def _hit(ctx: ApiContext, ent: Entity, match: dict[str, Any], language: str) -> dict[str, Any]:
    hit: dict[str, Any] = {
        "id": ent.id, "title": ent.title, "pageid": ent.pageid, "repository": "wikidata",
        "url": "//" + ctx.urls.wiki("wikidata").split("//", 1)[-1] + ent.id,
        "concepturi": f"http://www.wikidata.org/entity/{ent.id}",
    }
    label_lang = language if language in ent.labels else "en"
    display: dict[str, Any] = {}
    if label_lang in ent.labels:
        hit["label"] = ent.labels[label_lang]
        display["label"] = {"value": ent.labels[label_lang], "language": label_lang}
    desc_lang = language if language in ent.descriptions else "en"
    if desc_lang in ent.descriptions:
        hit["description"] = ent.descriptions[desc_lang]
        display["description"] = {"value": ent.descriptions[desc_lang], "language": desc_lang}
    hit["display"] = display
    hit["match"] = match
    if match["type"] != "label":
        hit["aliases"] = [match["text"]]
    return hit
