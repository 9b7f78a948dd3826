"""Wikibase statements (MediaInfo ``statements`` and item ``claims``) as small typed values."""

from __future__ import annotations

import builtins
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEPICTS = "P180"
REGION = "P2677"          # "relative position within image", IIIF "pct:x,y,w,h"
INSTANCE_OF = "P31"
IMAGE = "P18"
HUMAN = "Q5"

QID_RE = re.compile(r"^Q[1-9][0-9]*$")
MID_RE = re.compile(r"^M[1-9][0-9]*$")


@dataclass(frozen=True)
class Statement:
    """One statement. ``value_qid`` is set for item values (None for somevalue/novalue and
    other datatypes); ``value`` is the simplified main value whatever its type.
    ``qualifiers`` maps a property to its simplified values (None for somevalue/novalue);
    ``qualifier_hashes`` keeps each qualifier snak's hash (wbsetqualifier's ``snakhash``)."""

    id: str
    property: str
    value_qid: str | None
    qualifiers: dict[str, list[Any]] = field(default_factory=dict)
    rank: str = "normal"
    snaktype: str = "value"
    value: Any = None
    qualifier_hashes: dict[str, list[str]] = field(default_factory=dict)

    @builtins.property  # for type checkers the field "property" shadows the builtin
    def region(self) -> str | None:
        """The first P2677 string qualifier (``pct:x,y,w,h``), as wd-image-positions reads it."""
        for value in self.qualifiers.get(REGION, []):
            if isinstance(value, str):
                return value
        return None


def simplify_snak(snak: Mapping[str, Any]) -> Any:
    """A snak's value: ``"Q42"`` for items, the string for strings, the raw value otherwise."""
    if snak.get("snaktype") != "value":
        return None
    datavalue = snak.get("datavalue") or {}
    value = datavalue.get("value")
    if datavalue.get("type") == "wikibase-entityid" and isinstance(value, Mapping):
        if value.get("id"):
            return str(value["id"])
        if value.get("numeric-id") is not None:
            return f"Q{value['numeric-id']}"
    return value


def parse_statement(raw: Mapping[str, Any]) -> Statement:
    mainsnak = raw.get("mainsnak") or {}
    value = simplify_snak(mainsnak)
    is_item = (mainsnak.get("datavalue") or {}).get("type") == "wikibase-entityid"
    qualifiers: dict[str, list[Any]] = {}
    hashes: dict[str, list[str]] = {}
    for prop, snaks in (raw.get("qualifiers") or {}).items():
        qualifiers[prop] = [simplify_snak(s) for s in snaks]
        hashes[prop] = [str(s.get("hash", "")) for s in snaks]
    return Statement(
        id=str(raw.get("id", "")),
        property=str(mainsnak.get("property", "")),
        value_qid=value if is_item and isinstance(value, str) else None,
        qualifiers=qualifiers,
        rank=str(raw.get("rank", "normal")),
        snaktype=str(mainsnak.get("snaktype", "value")),
        value=value,
        qualifier_hashes=hashes,
    )


def parse_statements(raw: Any) -> dict[str, list[Statement]]:
    """``statements``/``claims`` -> {property: [Statement]}; ``[]`` (PHP's empty array) is {}."""
    if not raw:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"statements must be an object or [], got {type(raw).__name__}")
    return {prop: [parse_statement(s) for s in stmts] for prop, stmts in raw.items()}


def by_rank(statements: list[Statement]) -> list[Statement]:
    """Preferred first, then normal; deprecated dropped (Wikidata's best-value rule)."""
    order = {"preferred": 0, "normal": 1}
    kept = [s for s in statements if s.rank in order]
    return sorted(kept, key=lambda s: order[s.rank])


def check_qid(qid: str) -> str:
    if not isinstance(qid, str) or not QID_RE.match(qid):
        raise ValueError(f"not a Wikidata item id: {qid!r}")
    return qid


def check_mid(mid: str) -> str:
    if not isinstance(mid, str) or not MID_RE.match(mid):
        raise ValueError(f"not a MediaInfo id: {mid!r}")
    return mid


def mid_for_pageid(pageid: int) -> str:
    if int(pageid) <= 0:
        raise ValueError(f"not a page id: {pageid!r}")
    return f"M{int(pageid)}"
