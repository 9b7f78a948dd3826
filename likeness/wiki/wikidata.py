"""Wikidata reads: the item a project is about, item search, and parsing what users paste."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from likeness.wiki.api import ActionApi
from likeness.wiki.statements import (
    HUMAN,
    IMAGE,
    INSTANCE_OF,
    by_rank,
    check_qid,
    parse_statements,
)


@dataclass(frozen=True)
class Item:
    qid: str
    label: str | None
    description: str | None
    is_human: bool                      # some non-deprecated P31 = Q5
    p18_files: list[str] = field(default_factory=list)   # "File:..." titles, best rank first


@dataclass(frozen=True)
class ItemHit:
    qid: str
    label: str | None
    description: str | None


def get_item(api: ActionApi, qid: str, languages: Sequence[str] = ("en",)) -> Item | None:
    """The item, or None when it does not exist (deleted or never created). Labels and
    descriptions are taken in the order of ``languages`` (with Wikidata's fallback chain).
    A redirected id answers with the target's data under the requested id."""
    check_qid(qid)
    langs = list(languages) or ["en"]
    doc = api.get({"action": "wbgetentities", "ids": qid,
                   "props": "labels|descriptions|claims", "languages": langs,
                   "languagefallback": True})
    entities = doc.get("entities") or {}
    ent = entities.get(qid) or next(iter(entities.values()), None)
    if ent is None or "missing" in ent:
        return None
    claims = parse_statements(ent.get("claims"))
    is_human = any(s.value_qid == HUMAN for s in by_rank(claims.get(INSTANCE_OF, [])))
    files = [f"File:{s.value}" for s in by_rank(claims.get(IMAGE, []))
             if isinstance(s.value, str) and s.value]
    return Item(qid=str(ent.get("id", qid)), label=_term(ent.get("labels"), langs),
                description=_term(ent.get("descriptions"), langs), is_human=is_human,
                p18_files=files)


def search_items(api: ActionApi, text: str, language: str, limit: int = 7) -> list[ItemHit]:
    """Items matching ``text`` by label, alias or id (wbsearchentities, at most 50)."""
    text = text.strip()
    if not text:
        return []
    doc = api.get({"action": "wbsearchentities", "search": text, "language": language,
                   "uselang": language, "type": "item", "limit": max(1, min(int(limit), 50))})
    return [ItemHit(h["id"], h.get("label"), h.get("description"))
            for h in doc.get("search", []) if "id" in h]


_REF_PATTERNS = [
    re.compile(r"^(?:wd:)?(Q[1-9][0-9]*)$", re.IGNORECASE),
    re.compile(r"^(?:https?:)?//(?:www\.|m\.)?wikidata\.org/"
               r"(?:wiki/(?:Item:|Special:EntityPage/)?|entity/)(Q[1-9][0-9]*)"
               r"(?:[?#].*)?$", re.IGNORECASE),
]


def parse_item_ref(text: str) -> str | None:
    """``"Q42"``, ``"q42"``, ``"wd:Q42"``, ``"https://www.wikidata.org/wiki/Q42"`` or
    ``"http://www.wikidata.org/entity/Q42"`` -> ``"Q42"``; anything else -> None."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    for pattern in _REF_PATTERNS:
        match = pattern.match(value)
        if match:
            return match.group(1).upper()
    return None


def _term(terms: Any, languages: Sequence[str]) -> str | None:
    if not isinstance(terms, dict) or not terms:
        return None
    for lang in languages:
        if lang in terms and terms[lang].get("value"):
            return str(terms[lang]["value"])
    return None
