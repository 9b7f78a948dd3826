"""Wikidata and Commons look-ups made while someone waits (project creation, autocomplete).

Each call gets one attempt with a short timeout: a slow wiki must never hold a request thread
for long. Failures become ``LookupUnavailable``; callers degrade ("size unknown, the worker will
find out") instead of failing the request. Only the configured wiki hosts are ever contacted.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import requests
from flask_babel import gettext as _

from likeness.config import Config
from likeness.wiki import commons, wikidata
from likeness.wiki.errors import WikiError
from likeness.wiki.factory import INTERACTIVE, WikiClients, make_clients
from likeness.wiki.sources import related_query, search_queries
from likeness.wiki.titles import category_title

THUMB_WIDTH = 330
MAX_QUERY = 200
MAX_CATEGORY = 255
# Characters MediaWiki never allows in titles (plus controls).
_BAD_TITLE = re.compile(r"[#<>\[\]|{}\x00-\x1f\x7f]")


class LookupUnavailable(Exception):
    """The wiki did not answer in time or answered garbage."""


class BadInput(ValueError):
    """What the user typed cannot be a Q-id or category title; the message says why."""


@dataclass(frozen=True)
class ItemSummary:
    qid: str
    label: str
    description: str
    is_human: bool
    reference_file: str | None
    image_url: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CategoryPreview:
    title: str          # without the "Category:" prefix
    exists: bool | None  # None: unknown (the wiki did not answer in time)
    files: int | None
    subcats: int | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _clients(cfg: Config) -> WikiClients:
    return make_clients(cfg, use=INTERACTIVE)


def parse_qid(text: str) -> str:
    qid = wikidata.parse_item_ref(text or "")
    if qid is None:
        raise BadInput(_("Paste a Q-id (Q42) or a Wikidata item URL, or pick a suggestion."))
    return qid


def normalize_category(text: str) -> str:
    """``Category:Foo_bar`` / ``foo bar`` -> ``Foo bar`` (the stored form, without prefix)."""
    text = (text or "").strip()
    if text.lower().startswith(("https://", "http://")) and "/wiki/" in text:
        text = text.split("/wiki/", 1)[1]
    if not text or len(text) > MAX_CATEGORY + 9:
        raise BadInput(_("Enter a Commons category name."))
    if _BAD_TITLE.search(text) or "%" in text:
        raise BadInput(_("A category name cannot contain # < > [ ] | { } or %."))
    try:
        title = category_title(text)
    except ValueError as exc:
        raise BadInput(_("Enter a Commons category name.")) from exc
    name = title.split(":", 1)[1].strip()
    if not name or len(name) > MAX_CATEGORY:
        raise BadInput(_("Enter a Commons category name."))
    return name


def search_items(cfg: Config, text: str, language: str) -> list[dict[str, Any]]:
    text = (text or "").strip()[:MAX_QUERY]
    if not text:
        return []
    try:
        hits = wikidata.search_items(_clients(cfg).wikidata, text, language, limit=7)
    except (WikiError, requests.RequestException, KeyError, TypeError) as exc:
        raise LookupUnavailable(str(exc)) from exc
    return [{"qid": h.qid, "label": h.label or "", "description": h.description or ""}
            for h in hits]


def item_summary(cfg: Config, qid: str, language: str,
                 with_image: bool = True) -> ItemSummary | None:
    """Label, description, human or not, and the P18 thumbnail (``with_image``: one more call);
    None if there is no such item."""
    languages = [language, "en"] if language != "en" else ["en"]
    try:
        item = wikidata.get_item(_clients(cfg).wikidata, qid, languages)
    except (WikiError, requests.RequestException, KeyError, TypeError) as exc:
        raise LookupUnavailable(str(exc)) from exc
    if item is None:
        return None
    reference = item.p18_files[0] if item.p18_files else None
    return ItemSummary(item.qid, (item.label or item.qid)[:400], (item.description or "")[:1000],
                       item.is_human, reference[:255] if reference else None,
                       _thumb_url(cfg, reference) if reference and with_image else None)


def _thumb_url(cfg: Config, title: str) -> str | None:
    """A thumbnail on the upload host, or None (the image is decoration: never fail for it)."""
    try:
        infos = commons.image_infos(_clients(cfg).commons, [title], THUMB_WIDTH).found
    except (WikiError, requests.RequestException, KeyError, TypeError, ValueError):
        return None
    url = infos[0].thumb_url if infos else None
    if url and url.startswith(cfg.wiki.upload_host.rstrip("/") + "/"):
        return url
    return None


def sources_preview(cfg: Config, qid: str, category: str | None,
                    language: str) -> dict[str, Any] | None:
    """What each candidate source would add for the item, before the owner opts in: the
    item's Commons category (P373: its files and subcategories), the label search (files
    CirrusSearch reports per label, summed) and files depicting related items (per item);
    search sources never add more than ``sources.search_files`` per listing. None when there
    is no such item."""
    wiki = _clients(cfg)
    cap = cfg.sources.search_files
    try:
        facts = wikidata.source_facts(wiki.wikidata, qid)
        if facts is None:
            return None
        out: list[dict[str, Any]] = [_category_source(wiki, facts, category)]
        total = sum(commons.search_count(wiki.commons, q)
                    for q in search_queries(facts.terms))
        out.append({"kind": "search", "available": bool(facts.terms), "terms": facts.terms,
                    "total": total, "count": min(total, cap), "capped": total > cap})
        names = wikidata.labels(wiki.wikidata, facts.related, language) if facts.related \
            else {}
        items: list[dict[str, Any]] = [
            {"qid": q, "label": names.get(q, q),
             "files": commons.search_count(wiki.commons, related_query([q]))}
            for q in facts.related]
        total = sum(i["files"] for i in items)
        out.append({"kind": "related", "available": bool(items), "items": items,
                    "total": total, "count": min(total, cap), "capped": total > cap})
    except (WikiError, requests.RequestException, KeyError, TypeError, ValueError) as exc:
        raise LookupUnavailable(str(exc)) from exc
    return {"qid": qid, "cap": cap, "sources": out}


def _category_source(wiki: WikiClients, facts: wikidata.SourceFacts,
                     category: str | None) -> dict[str, Any]:
    name = facts.commons_category
    if not name:
        return {"kind": "commons_category", "available": False, "category": None,
                "count": 0, "capped": False}
    info = commons.category_info(wiki.commons, name)
    same = category is not None and category_title(category) == category_title(name)
    return {"kind": "commons_category", "available": info.exists or info.files > 0,
            "category": name, "files": info.files, "subcats": info.subcats,
            "same_as_project": same, "count": 0 if same else info.files, "capped": False}


def category_preview(cfg: Config, name: str) -> CategoryPreview:
    """Size of the category (files, subcategories); unknown rather than slow."""
    try:
        info = commons.category_info(_clients(cfg).commons, name)
    except (WikiError, requests.RequestException, KeyError, TypeError, ValueError):
        return CategoryPreview(name, None, None, None)
    exists = info.exists or info.files > 0 or info.subcats > 0
    return CategoryPreview(name, exists, info.files, info.subcats)
