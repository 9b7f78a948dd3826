"""Wikibase data model pieces: snaks, statements, hashes, GUIDs and value parsing.

Statements are stored in the API's own JSON shape (dicts) so that serialising them is a copy;
MediaInfo output omits ``datatype`` on snaks, Wikidata item output includes it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import uuid
from typing import Any

# Datatypes of the properties the stand-in knows; other properties are treated as strings.
PROPERTY_DATATYPES = {
    "P18": "commonsMedia",
    "P31": "wikibase-item",
    "P180": "wikibase-item",
    "P275": "wikibase-item",
    "P2677": "string",
    "P373": "string",
    "P1344": "wikibase-item",
    "P793": "wikibase-item",
    "P921": "wikibase-item",
    "P547": "wikibase-item",
    "P6216": "wikibase-item",
    "P170": "wikibase-item",
    "P2093": "string",
    "P571": "time",
    "P143": "wikibase-item",
}
_VALUE_TYPES = {
    "wikibase-item": "wikibase-entityid",
    "commonsMedia": "string",
    "string": "string",
    "external-id": "string",
    "url": "string",
    "time": "time",
}
_UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
GUID_RE = re.compile(r"^([MQP]\d+)\$(" + _UUID + r")$")
ENTITY_ID_RE = re.compile(r"^[MQP][1-9]\d*$")
RANKS = ("preferred", "normal", "deprecated")


class SnakError(ValueError):
    """A snak or statement cannot be built; ``code``/``message`` follow Wikibase."""

    def __init__(self, code: str, info: str, message: str = "wikibase-api-invalid-snak") -> None:
        super().__init__(info)
        self.code = code
        self.info = info
        self.message = message


def datatype_of(prop: str, value: Any = None, dv_type: str | None = None) -> str:
    """The property's datatype; for properties the stand-in does not list, inferred from the
    value (Commons knows every Wikidata property, the stand-in only a few)."""
    if prop in PROPERTY_DATATYPES:
        return PROPERTY_DATATYPES[prop]
    if dv_type == "wikibase-entityid" or (isinstance(value, dict) and (
            "numeric-id" in value or "id" in value)):
        return "wikibase-item"
    if dv_type == "time" or (isinstance(value, dict) and "time" in value):
        return "time"
    if dv_type in ("globecoordinate", "quantity", "monolingualtext"):
        return dv_type
    return "string"


def item_value(qid: str) -> dict[str, Any]:
    return {"entity-type": "item", "numeric-id": int(qid[1:]), "id": qid}


def snak_hash(snak: dict[str, Any]) -> str:
    """A stable 40-hex hash of the snak's content (Wikibase hashes the serialised snak)."""
    content = [snak["property"], snak["snaktype"], snak.get("datavalue")]
    return hashlib.sha1(
        json.dumps(content, sort_keys=True, ensure_ascii=False).encode(), usedforsecurity=False
    ).hexdigest()


def make_snak(prop: str, snaktype: str = "value", value: Any = None,
              dv_type: str | None = None) -> dict[str, Any]:
    """Build a snak from a Python value (``Q42`` for items, a string for strings)."""
    if snaktype not in ("value", "somevalue", "novalue"):
        raise SnakError("invalid-snak", f"Invalid snak type: {snaktype}")
    snak: dict[str, Any] = {"snaktype": snaktype, "property": prop}
    if snaktype == "value":
        snak["datavalue"] = datavalue_for(prop, value, dv_type)
    snak["hash"] = snak_hash(snak)
    return _ordered_snak(snak)


def datavalue_for(prop: str, value: Any, dv_type: str | None = None) -> dict[str, Any]:
    """Check ``value`` against the property's datatype and wrap it as a datavalue."""
    dtype = datatype_of(prop, value, dv_type)
    if dtype in ("globecoordinate", "quantity", "monolingualtext"):
        return {"value": value, "type": dtype}
    vtype = _VALUE_TYPES.get(dtype, "string")
    if vtype == "wikibase-entityid":
        qid = _parse_item_ref(value)
        return {"value": item_value(qid), "type": "wikibase-entityid"}
    if vtype == "time":
        if not isinstance(value, dict) or "time" not in value:
            raise SnakError("modification-failed", "Bad time value", "wikibase-validator-bad-type")
        return {"value": value, "type": "time"}
    if not isinstance(value, str) or not value:
        raise SnakError(
            "modification-failed",
            f"Bad value type {type(value).__name__}, expected string",
            "wikibase-validator-bad-type",
        )
    return {"value": value, "type": "string"}


def _parse_item_ref(value: Any) -> str:
    if isinstance(value, str) and re.fullmatch(r"Q[1-9]\d*", value):
        return value
    if isinstance(value, dict):
        if isinstance(value.get("id"), str) and re.fullmatch(r"Q[1-9]\d*", value["id"]):
            return value["id"]
        num = value.get("numeric-id")
        if isinstance(num, int) and num > 0 and value.get("entity-type", "item") == "item":
            return f"Q{num}"
    raise SnakError(
        "invalid-snak", "Invalid snak data.", "wikibase-api-invalid-snak"
    )


def snak_from_json(data: Any, prop_hint: str | None = None) -> dict[str, Any]:
    """Parse a snak as clients send it inside wbeditentity ``data``."""
    if not isinstance(data, dict):
        raise SnakError("invalid-snak", "Invalid snak data.")
    prop = data.get("property") or prop_hint
    if not isinstance(prop, str) or not re.fullmatch(r"P[1-9]\d*", prop):
        raise SnakError("invalid-snak", "Invalid snak data (property).")
    snaktype = data.get("snaktype", "value")
    value = None
    dv_type = None
    if snaktype == "value":
        dv = data.get("datavalue")
        if not isinstance(dv, dict) or "value" not in dv:
            raise SnakError("invalid-snak", "Invalid snak data (datavalue).")
        value, dv_type = dv["value"], dv.get("type")
    return make_snak(prop, snaktype, value, dv_type)


def _ordered_snak(snak: dict[str, Any]) -> dict[str, Any]:
    out = {"snaktype": snak["snaktype"], "property": snak["property"], "hash": snak["hash"]}
    if "datavalue" in snak:
        out["datavalue"] = {"value": snak["datavalue"]["value"], "type": snak["datavalue"]["type"]}
    return out


def new_guid(entity_id: str) -> str:
    return f"{entity_id}${str(uuid.uuid4()).upper()}"


def stable_guid(entity_id: str, seed: str) -> str:
    """Deterministic GUIDs for catalog statements, so ids are equal across runs."""
    return f"{entity_id}${str(uuid.uuid5(uuid.NAMESPACE_URL, entity_id + '|' + seed)).upper()}"


def make_statement(
    guid: str,
    mainsnak: dict[str, Any],
    qualifiers: list[dict[str, Any]] | None = None,
    rank: str = "normal",
) -> dict[str, Any]:
    stmt: dict[str, Any] = {"mainsnak": mainsnak, "type": "statement"}
    set_qualifiers(stmt, qualifiers or [])
    stmt["id"] = guid
    stmt["rank"] = rank
    return reorder_statement(stmt)


def set_qualifiers(stmt: dict[str, Any], qualifiers: list[dict[str, Any]]) -> None:
    """Replace a statement's qualifiers, grouping by property and dropping duplicates."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    seen: set[str] = set()
    for q in qualifiers:
        if q["hash"] in seen:
            continue
        seen.add(q["hash"])
        grouped.setdefault(q["property"], []).append(q)
    stmt.pop("qualifiers", None)
    stmt.pop("qualifiers-order", None)
    if grouped:
        stmt["qualifiers"] = grouped
        stmt["qualifiers-order"] = list(grouped)


def all_qualifiers(stmt: dict[str, Any]) -> list[dict[str, Any]]:
    return [q for qs in stmt.get("qualifiers", {}).values() for q in qs]


def reorder_statement(stmt: dict[str, Any]) -> dict[str, Any]:
    """Key order as Wikibase emits it: mainsnak, type, qualifiers, qualifiers-order, id, rank."""
    out: dict[str, Any] = {"mainsnak": stmt["mainsnak"], "type": "statement"}
    for key in ("qualifiers", "qualifiers-order"):
        if key in stmt:
            out[key] = stmt[key]
    out["id"] = stmt["id"]
    out["rank"] = stmt["rank"]
    if "references" in stmt:
        out["references"] = stmt["references"]
    return out


def statement_from_json(data: Any, entity_id: str) -> dict[str, Any]:
    """Parse a statement from wbeditentity ``data.claims[]`` (id optional, qualifiers inline)."""
    if not isinstance(data, dict) or "mainsnak" not in data:
        raise SnakError("invalid-claim", "Invalid claim data.", "wikibase-api-invalid-claim")
    mainsnak = snak_from_json(data["mainsnak"])
    quals: list[dict[str, Any]] = []
    raw_q = data.get("qualifiers") or {}
    if isinstance(raw_q, dict):
        order = data.get("qualifiers-order") or list(raw_q)
        for prop in order:
            for q in raw_q.get(prop, []):
                quals.append(snak_from_json(q, prop))
    elif isinstance(raw_q, list):
        quals = [snak_from_json(q) for q in raw_q]
    else:
        raise SnakError("invalid-claim", "Invalid qualifiers.", "wikibase-api-invalid-claim")
    rank = data.get("rank", "normal")
    if rank not in RANKS:
        raise SnakError("invalid-claim", f"Invalid rank {rank}", "wikibase-api-invalid-claim")
    guid = data.get("id")
    if guid is not None:
        m = GUID_RE.match(guid) if isinstance(guid, str) else None
        if not m or m.group(1) != entity_id:
            raise SnakError("invalid-guid", "Invalid claim guid", "wikibase-api-invalid-guid")
    return make_statement(guid or new_guid(entity_id), mainsnak, quals, rank)


def with_datatypes(stmt: dict[str, Any]) -> dict[str, Any]:
    """A copy of a statement whose snaks carry ``datatype`` (Wikidata item output)."""
    out = copy.deepcopy(stmt)
    ref_snaks = [s for ref in out.get("references", []) for lst in ref["snaks"].values()
                 for s in lst]
    for snak in [out["mainsnak"], *all_qualifiers(out), *ref_snaks]:
        dv = snak.get("datavalue") or {}
        snak["datatype"] = datatype_of(snak["property"], dv.get("value"), dv.get("type"))
    return out


def compact_statement(entity_id: str, spec: dict[str, Any], seed: str) -> dict[str, Any]:
    """Build a statement from the catalog's compact form ``{"property": "P180", "value": "Q1",
    "qualifiers": [{"property": "P2677", "value": "pct:.."}], "rank": "normal"}``."""
    mainsnak = make_snak(spec["property"], spec.get("snaktype", "value"), spec.get("value"))
    quals = [
        make_snak(q["property"], q.get("snaktype", "value"), q.get("value"))
        for q in spec.get("qualifiers", [])
    ]
    guid = spec.get("id") or stable_guid(entity_id, seed)
    stmt = make_statement(guid, mainsnak, quals, spec.get("rank", "normal"))
    refs = [_reference(ref) for ref in spec.get("references", [])]
    if refs:
        stmt["references"] = refs
    return stmt


def _reference(spec: dict[str, str]) -> dict[str, Any]:
    """A reference from ``{"P143": "Q328"}`` (imported from: English Wikipedia)."""
    snaks: dict[str, list[dict[str, Any]]] = {}
    for prop, value in spec.items():
        snaks.setdefault(prop, []).append(make_snak(prop, "value", value))
    digest = hashlib.sha1(json.dumps(snaks, sort_keys=True).encode(),
                          usedforsecurity=False).hexdigest()
    return {"hash": digest, "snaks": snaks, "snaks-order": list(snaks)}
