"""Wikibase writes: wbcreateclaim, wbsetqualifier, wbremoveclaims, wbeditentity, wbsetlabel.

Each write checks permissions, change tags and ``baserevid`` (edit conflicts), changes the stored
entity, gives it a new revision id and records the edit in the edit log. A MediaInfo entity that
does not exist yet (``missing``) is created by its first write, as on Commons.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from standin.actionapi import errors as E
from standin.actionapi.context import ApiContext
from standin.actionapi.entities import after_edit, terms
from standin.actionapi.wbread import lookup
from standin.state import Entity, iso_now
from standin.wikibase import (
    GUID_RE,
    SnakError,
    all_qualifiers,
    make_snak,
    make_statement,
    new_guid,
    statement_from_json,
    with_datatypes,
)

IGNORED_DATA_KEYS = {"id", "type", "lastrevid", "pageid", "ns", "title", "modified"}
MAX_LABEL = 250


# -- shared steps -----------------------------------------------------------------------------
def _snak_error(err: SnakError) -> E.ApiError:
    return E.ApiError(err.code, err.info,
                      [{"name": err.message, "parameters": [], "html": {"*": err.info}}])


def _target(ctx: ApiContext, entity_id: str | None) -> Entity:
    """The entity to edit, by id or by site/title; MediaInfo may not exist yet."""
    if entity_id:
        ent = lookup(ctx, entity_id)
        if ent is None:
            raise E.no_such_entity(entity_id)
        return ent
    site, title = ctx.get("site"), ctx.get("title")
    if not site or not title:
        raise E.param_missing("Either provide the item \"id\" or pairs of \"site\" and \"title\" "
                              "for a corresponding page")
    page = ctx.world.file_by_title(title) if site == "commonswiki" else None
    if page is None:
        raise E.no_such_entity_link()
    return ctx.world.mediainfo[page.pageid]


def _permitted(ctx: ApiContext, ent: Entity) -> None:
    if ctx.user is not None and ctx.user.blocked:
        raise E.permissiondenied(blocked=True)
    if ctx.grant is not None and "editpage" not in ctx.grant.grants:
        raise E.permissiondenied()
    # A protected file page: "autoconfirmed" and "sysop" levels need that user group.
    level = ctx.world.protections.get(ent.pageid) if ent.kind == "mediainfo" else None
    if level and (ctx.user is None or level not in ctx.user.groups):
        raise E.permissiondenied(protected=True)
    tags = ctx.multi("tags", None)
    bad = [t for t in tags if t not in ctx.world.catalog.registered_tags]
    if bad:
        raise E.badtags(bad)
    limit = ctx.world.settings.edit_rate_per_minute
    if limit > 0:
        now = ctx.world.now()
        recent = [t for t in ctx.world.edit_times.get(ctx.user_name, []) if t > now - 60]
        if len(recent) >= limit:
            raise E.throttled()


def _check_conflict(ctx: ApiContext, ent: Entity, touched: Iterable[str],
                    clearing: bool = False) -> None:
    raw = ctx.get("baserevid")
    if not raw:
        return
    try:
        base = int(raw)
    except ValueError:
        raise E.ApiError("badinteger", f'Invalid value "{raw}" for integer parameter '
                                       '"baserevid".') from None
    if base == ent.lastrevid:
        return
    known = base in ent.revids
    later = ctx.world.changed_since(ent, base)
    overlap = set(touched) & {g for r in later for g in r.guids}
    strict = ctx.world.settings.conflict_policy == "strict"
    if strict or clearing or not known or overlap or any(r.cleared for r in later):
        raise E.editconflict()


def _value_exists(ctx: ApiContext, snak: dict[str, Any]) -> None:
    """Depicts values must name an existing item (Commons checks every item value; the stand-in's
    Wikidata is small, so only P180, the property the tool writes, is checked)."""
    dv = snak.get("datavalue")
    if snak["property"] == "P180" and dv and dv["type"] == "wikibase-entityid":
        qid = dv["value"]["id"]
        if qid not in ctx.world.wikidata:
            text = f"An entity with the ID \"{qid}\" does not exist."
            raise E.modification_failed(text, "wikibase-validator-no-such-entity")


def _known_property(ctx: ApiContext, prop: str) -> None:
    if not re.fullmatch(r"P[1-9]\d*", prop):
        raise E.ApiError("invalid-snak", f"Invalid property id: {prop}",
                         [{"name": "wikibase-api-invalid-property-id", "parameters": [prop],
                           "html": {"*": f"Invalid property id: {prop}"}}])


def _commit(ctx: ApiContext, ent: Entity, action: str, touched: set[str],
            cleared: bool = False) -> int:
    old = ent.lastrevid
    revid = ctx.world.touch(ent, touched, cleared)
    ctx.world.edit_times.setdefault(ctx.user_name, []).append(ctx.world.now())
    summary = ctx.get("summary", "") or ""
    ctx.world.log_edit({
        "time": iso_now(ctx.world.now()), "site": ctx.site, "action": action,
        "user": ctx.user_name, "anonymous": ctx.user is None, "entity": ent.id,
        "title": ent.title, "summary": summary,
        "comment": f"/* {action}:1| */ {summary}".strip(),
        "tags": ctx.multi("tags", None), "bot": ctx.has("bot"),
        "baserevid": int(ctx.get("baserevid")) if (ctx.get("baserevid") or "").isdigit()
        else None,
        "old_revid": old, "new_revid": revid, "statements": sorted(touched),
        "params": {k: v for k, v in ctx.params.items() if k != "token"},
    })
    return revid


def _claim_out(ent: Entity, stmt: dict[str, Any]) -> dict[str, Any]:
    return stmt if ent.kind == "mediainfo" else with_datatypes(stmt)


def _parse_value(raw: str | None) -> Any:
    if raw is None:
        raise E.missingparam("value")
    try:
        return json.loads(raw)
    except ValueError:
        raise E.ApiError("invalid-snak", "Invalid snak (Can not parse JSON)") from None


def _statement_owner(ctx: ApiContext, guid: str | None) -> tuple[Entity, str]:
    if not guid:
        raise E.missingparam("claim")
    m = GUID_RE.match(guid)
    if not m:
        raise E.invalid_guid()
    ent = lookup(ctx, m.group(1))
    if ent is None:
        raise E.invalid_guid("Could not find an entity for the claims")
    return ent, guid


# -- modules ----------------------------------------------------------------------------------
def wbcreateclaim(ctx: ApiContext) -> dict[str, Any]:
    entity_id = ctx.get("entity")
    if not entity_id:
        raise E.missingparam("entity")
    prop = ctx.get("property")
    if not prop:
        raise E.missingparam("property")
    snaktype = ctx.get("snaktype")
    if not snaktype:
        raise E.missingparam("snaktype")
    with ctx.world.lock:
        ent = _target(ctx, entity_id)
        _permitted(ctx, ent)
        _known_property(ctx, prop)
        value = _parse_value(ctx.get("value")) if snaktype == "value" else None
        try:
            snak = make_snak(prop, snaktype, value)
        except SnakError as err:
            raise _snak_error(err) from None
        _value_exists(ctx, snak)
        stmt = make_statement(new_guid(ent.id), snak)
        _check_conflict(ctx, ent, {stmt["id"]})
        ent.add(stmt)
        revid = _commit(ctx, ent, "wbcreateclaim", {stmt["id"]})
        return {"pageinfo": {"lastrevid": revid}, "success": 1, "claim": _claim_out(ent, stmt)}


def wbsetqualifier(ctx: ApiContext) -> dict[str, Any]:
    prop = ctx.get("property")
    snaktype = ctx.get("snaktype")
    with ctx.world.lock:
        ent, guid = _statement_owner(ctx, ctx.get("claim"))
        stmt = ent.find(guid)
        if stmt is None:
            raise E.no_such_claim(guid)
        if not prop:
            raise E.missingparam("property")
        if not snaktype:
            raise E.missingparam("snaktype")
        _permitted(ctx, ent)
        _known_property(ctx, prop)
        value = _parse_value(ctx.get("value")) if snaktype == "value" else None
        try:
            snak = make_snak(prop, snaktype, value)
        except SnakError as err:
            raise _snak_error(err) from None
        _value_exists(ctx, snak)
        quals = all_qualifiers(stmt)
        old_hash = ctx.get("snakhash")
        if old_hash:
            if not any(q["hash"] == old_hash for q in quals):
                raise E.no_such_qualifier()
            quals = [snak if q["hash"] == old_hash else q for q in quals]
        else:
            quals.append(snak)
        _check_conflict(ctx, ent, {guid})
        before = json.dumps(stmt, sort_keys=True)
        updated = make_statement(guid, stmt["mainsnak"], quals, stmt["rank"])
        if json.dumps(updated, sort_keys=True) == before:
            return {"pageinfo": {"lastrevid": ent.lastrevid}, "success": 1,
                    "claim": _claim_out(ent, stmt)}
        ent.replace(updated)
        revid = _commit(ctx, ent, "wbsetqualifier", {guid})
        return {"pageinfo": {"lastrevid": revid}, "success": 1,
                "claim": _claim_out(ent, updated)}


def wbremoveclaims(ctx: ApiContext) -> dict[str, Any]:
    guids = ctx.multi("claim")
    if not guids:
        raise E.missingparam("claim")
    with ctx.world.lock:
        owners = {_statement_owner(ctx, g)[0].id for g in guids}
        if len(owners) > 1:
            raise E.invalid_guid("All claims must belong to the same entity")
        ent = ctx.world.entity(owners.pop())
        assert ent is not None
        missing = [g for g in guids if ent.find(g) is None]
        if missing:
            raise E.no_such_claim("|".join(missing))
        _permitted(ctx, ent)
        _check_conflict(ctx, ent, set(guids))
        for g in guids:
            ent.remove(g)
        revid = _commit(ctx, ent, "wbremoveclaims", set(guids))
    return {"pageinfo": {"lastrevid": revid}, "success": 1, "claims": guids}


def wbsetlabel(ctx: ApiContext) -> dict[str, Any]:
    language = ctx.get("language")
    if not language:
        raise E.missingparam("language")
    value = (ctx.get("value") or "").strip()
    with ctx.world.lock:
        ent = _target(ctx, ctx.get("id"))
        _permitted(ctx, ent)
        _check_label(value)
        _check_conflict(ctx, ent, {f"label:{language}"})
        if value:
            ent.labels[language] = value
        else:
            ent.labels.pop(language, None)
        revid = _commit(ctx, ent, "wbsetlabel", {f"label:{language}"})
        labels = terms({language: value}, None) if value else \
            {language: {"language": language, "removed": ""}}
        return {"entity": {"labels": labels, "id": ent.id, "type": ent.kind,
                           "lastrevid": revid}, "success": 1}


def _check_label(value: str) -> None:
    if len(value) > MAX_LABEL:
        raise E.ApiError("modification-failed",
                         f"Label must be no more than {MAX_LABEL} characters long",
                         [{"name": "wikibase-validator-label-too-long",
                           "parameters": [str(MAX_LABEL), value[:30] + "..."],
                           "html": {"*": f"Label must be no more than {MAX_LABEL} characters "
                                         "long"}}])


def wbeditentity(ctx: ApiContext) -> dict[str, Any]:
    if ctx.has("new"):
        raise E.ApiError("param-illegal", "Cannot create new entities with this stand-in.")
    raw = ctx.get("data")
    if raw is None:
        raise E.missingparam("data")
    try:
        data = json.loads(raw)
    except ValueError as err:
        raise E.invalid_json(str(err)) from None
    if not isinstance(data, dict):
        raise E.invalid_json("data must be a JSON object")
    unknown = [k for k in data if k not in IGNORED_DATA_KEYS and k not in
               ("labels", "descriptions", "aliases", "claims", "statements")]
    if unknown:
        raise E.ApiError("not-recognized", f"Unknown key in json: {unknown[0]}")
    with ctx.world.lock:
        ent = _target(ctx, ctx.get("id"))
        _permitted(ctx, ent)
        clearing = ctx.has("clear")
        try:
            changes = _plan_edit(ctx, ent, data)
        except SnakError as err:
            raise _snak_error(err) from None
        touched = {c[1] for c in changes}
        _check_conflict(ctx, ent, touched, clearing)
        before = json.dumps(after_edit(ent), sort_keys=True)
        was_missing = not ent.exists
        if clearing:
            ent.labels.clear()
            ent.descriptions.clear()
            ent.statements.clear()
        for change in changes:
            _apply(ent, change)
        if json.dumps(after_edit(ent), sort_keys=True) == before and not was_missing:
            out = after_edit(ent)
            out["nochange"] = ""
            return {"entity": out, "success": 1}
        _commit(ctx, ent, "wbeditentity", touched, cleared=clearing)
        return {"entity": after_edit(ent), "success": 1}


Change = tuple[str, str, Any]  # (kind, key, payload)


def _plan_edit(ctx: ApiContext, ent: Entity, data: dict[str, Any]) -> list[Change]:
    """Validate everything before changing anything, so a bad request edits nothing."""
    changes: list[Change] = []
    for field_name in ("labels", "descriptions"):
        if field_name == "descriptions" and ent.kind == "mediainfo" and data.get(field_name):
            raise E.ApiError("not-recognized", "MediaInfo has no descriptions")
        values = data.get(field_name) or {}
        items = values.values() if isinstance(values, dict) else values
        for term in items:
            lang = term.get("language")
            if not lang:
                raise E.invalid_json(f"{field_name} entry without language")
            if "remove" in term:
                changes.append((field_name, f"{field_name}:{lang}", None))
            else:
                _check_label(term.get("value", ""))
                changes.append((field_name, f"{field_name}:{lang}", term.get("value", "")))
    claims = data.get("claims", data.get("statements")) or []
    if isinstance(claims, dict):
        claims = [c for lst in claims.values() for c in lst]
    for claim in claims:
        if isinstance(claim, dict) and "remove" in claim:
            guid = claim.get("id")
            if not guid or ent.find(guid) is None:
                raise E.modification_failed(f"Statement with GUID {guid} not found",
                                            "wikibase-api-no-such-claim")
            changes.append(("remove", guid, None))
            continue
        stmt = statement_from_json(claim, ent.id)
        _known_property(ctx, stmt["mainsnak"]["property"])
        _value_exists(ctx, stmt["mainsnak"])
        for q in all_qualifiers(stmt):
            _known_property(ctx, q["property"])
            _value_exists(ctx, q)
        changes.append(("statement", stmt["id"], stmt))
    return changes


def _apply(ent: Entity, change: Change) -> None:
    kind, key, payload = change
    if kind in ("labels", "descriptions"):
        target = ent.labels if kind == "labels" else ent.descriptions
        lang = key.split(":", 1)[1]
        if payload is None:
            target.pop(lang, None)
        else:
            target[lang] = payload
    elif kind == "remove":
        ent.remove(key)
    elif not ent.replace(payload):
        ent.add(payload)
