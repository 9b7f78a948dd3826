"""Wikidata reads: the item a project is about, what its candidate sources need, item search,
the "is this item about the person" check, and parsing what users paste."""

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


COMMONS_CATEGORY = "P373"
# Items a person is related to whose files may show them: events they took part in.
RELATED = ("P1344", "P793")          # participant in, significant event
# An item is "about" the person when one of these says so (a portrait's or a statue's item,
# a memorial, a work whose main subject they are).
ABOUT = ("P180", "P921", "P547")     # depicts, main subject, commemorates
MAX_TERMS = 8


@dataclass(frozen=True)
class SourceFacts:
    """What the candidate sources of a project need from its item."""

    qid: str
    terms: list[str]                    # distinct labels, the most widely used first
    commons_category: str | None        # P373, without the "Category:" prefix
    related: list[str]                  # Q-ids of P1344/P793 values


def source_facts(api: ActionApi, qid: str) -> SourceFacts | None:
    """Labels in every language (at most MAX_TERMS distinct spellings), P373 and the related
    items of ``qid``; None when the item does not exist."""
    check_qid(qid)
    doc = api.get({"action": "wbgetentities", "ids": qid, "props": "labels|claims"})
    ent = (doc.get("entities") or {}).get(qid)
    if ent is None or "missing" in ent:
        return None
    counts: dict[str, int] = {}
    spelled: dict[str, str] = {}
    for term in (ent.get("labels") or {}).values():
        text = " ".join(str(term.get("value", "")).replace('"', " ").split())
        if text:
            key = text.casefold()
            counts[key] = counts.get(key, 0) + 1
            spelled.setdefault(key, text)
    terms = [spelled[k] for k in sorted(counts, key=lambda k: (-counts[k], k))][:MAX_TERMS]
    claims = parse_statements(ent.get("claims"))
    category = next((s.value for s in by_rank(claims.get(COMMONS_CATEGORY, []))
                     if isinstance(s.value, str) and s.value), None)
    related = list(dict.fromkeys(s.value_qid for prop in RELATED
                                 for s in by_rank(claims.get(prop, [])) if s.value_qid))
    return SourceFacts(qid, terms, category, related)


def labels(api: ActionApi, qids: Sequence[str], language: str) -> dict[str, str]:
    """Labels of items (50 per request) in ``language`` with Wikidata's fallback."""
    out: dict[str, str] = {}
    for start in range(0, len(qids), 50):
        doc = api.get({"action": "wbgetentities", "ids": list(qids[start:start + 50]),
                       "props": "labels", "languages": language, "languagefallback": True})
        for key, ent in (doc.get("entities") or {}).items():
            out[key] = _term(ent.get("labels"), [language]) or key
    return out


def items_about(api: ActionApi, qids: Sequence[str], person: str) -> list[str]:
    """Those of ``qids`` whose item says it depicts, is mainly about, or commemorates
    ``person`` (P180/P921/P547): a file depicting one of them depicts the person more
    specifically (a portrait, a statue, a memorial)."""
    check_qid(person)
    about = []
    for start in range(0, len(qids), 50):
        doc = api.get({"action": "wbgetentities", "ids": list(qids[start:start + 50]),
                       "props": "claims"})
        for key, ent in (doc.get("entities") or {}).items():
            claims = parse_statements(ent.get("claims")) if "missing" not in ent else {}
            if any(s.value_qid == person for prop in ABOUT for s in claims.get(prop, [])
                   if s.rank != "deprecated"):
                about.append(key)
    return about


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
