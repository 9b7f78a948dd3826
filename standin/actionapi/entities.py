"""Entity JSON: MediaInfo (``statements``, snaks without datatype) and Wikidata items and
properties (``claims``, snaks with datatype), filtered by ``props`` and ``languages``."""

from __future__ import annotations

import copy
from typing import Any

from standin.state import Entity
from standin.wikibase import with_datatypes

DEFAULT_PROPS = {"info", "sitelinks", "aliases", "labels", "descriptions", "claims", "datatype"}


FALLBACK = ("mul", "en")  # the end of every language's fallback chain on Wikidata


def terms(values: dict[str, str], languages: list[str] | None,
          fallback: bool = False) -> dict[str, Any]:
    """Terms in the requested languages; with ``languagefallback`` a missing language gets the
    fallback's term marked ``for-language``, as Wikibase does."""
    out = {lang: {"language": lang, "value": v} for lang, v in values.items()
           if not languages or lang in languages}
    if fallback and languages:
        for lang in languages:
            if lang in out:
                continue
            source = next((f for f in FALLBACK if f in values), None)
            if source is not None:
                out[lang] = {"language": source, "value": values[source], "for-language": lang}
    return out


def statements_json(ent: Entity) -> Any:
    if ent.kind == "mediainfo":
        if not ent.statements:
            return []  # PHP serialises an empty statement list as [] (T222159)
        return copy.deepcopy(ent.statements)
    return {p: [with_datatypes(s) for s in stmts] for p, stmts in ent.statements.items()}


def serialize(ent: Entity, props: set[str] | None = None,
              languages: list[str] | None = None, info: bool = True,
              fallback: bool = False) -> dict[str, Any]:
    props = props or DEFAULT_PROPS
    out: dict[str, Any] = {}
    if info and "info" in props:
        out.update({"pageid": ent.pageid, "ns": ent.ns, "title": ent.title,
                    "lastrevid": ent.lastrevid, "modified": ent.modified})
    out["type"] = ent.kind
    if ent.kind == "property" and "datatype" in props:
        out["datatype"] = ent.datatype
    out["id"] = ent.id
    if "labels" in props:
        out["labels"] = terms(ent.labels, languages, fallback)
    if "descriptions" in props:
        out["descriptions"] = terms(ent.descriptions, languages, fallback)
    if ent.kind != "mediainfo" and "aliases" in props:
        out["aliases"] = {lang: [{"language": lang, "value": a} for a in values]
                          for lang, values in ent.aliases.items()
                          if not languages or lang in languages}
    if "claims" in props:
        out["statements" if ent.kind == "mediainfo" else "claims"] = statements_json(ent)
    if ent.kind == "item" and "sitelinks" in props:
        out["sitelinks"] = {site: {"site": site, "title": title, "badges": [],
                                   "url": _site_url(site, title)}
                            for site, title in ent.sitelinks.items()}
    return out


def after_edit(ent: Entity) -> dict[str, Any]:
    """The entity as wbeditentity returns it: no pageid/ns/title/modified, lastrevid last."""
    out = serialize(ent, info=False)
    out["lastrevid"] = ent.lastrevid
    return out


def _site_url(site: str, title: str) -> str:
    from urllib.parse import quote

    host = ("commons.wikimedia.org" if site == "commonswiki"
            else f"{site.removesuffix('wiki')}.wikipedia.org")
    return f"https://{host}/wiki/{quote(title.replace(' ', '_'))}"
