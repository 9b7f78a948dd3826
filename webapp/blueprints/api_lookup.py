"""JSON look-ups for the project forms: item search (autocomplete), item summary, category size,
and what each candidate source would add.

Each answers within a few seconds even when the wiki is slow (webapp.lookups), so the form stays
responsive; "unknown" is a valid answer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import get_locale

from webapp.access import login_required
from webapp.api import api_error
from webapp.context import config
from webapp.lookups import (
    BadInput,
    LookupUnavailable,
    category_preview,
    item_summary,
    normalize_category,
    parse_qid,
    search_items,
    sources_preview,
)
from webapp.security import rate_limit

bp = Blueprint("api_lookup", __name__, url_prefix="/api")


def _language() -> str:
    lang = request.args.get("lang") or str(get_locale() or "en")
    return lang if lang.replace("-", "").isalnum() and len(lang) <= 12 else "en"


@bp.get("/items/search")
@login_required
@rate_limit("search")
def items_search() -> Any:
    text = request.args.get("q", "")
    if len(text) > 200:
        api_error(400, "too_long", "Search text is limited to 200 characters.")
    try:
        hits = search_items(config(), text, _language())
    except LookupUnavailable:
        api_error(503, "wiki_unavailable", "Wikidata did not answer in time; keep typing.")
    return jsonify({"items": hits})


@bp.get("/items/<qid>")
@login_required
@rate_limit("wiki")
def item(qid: str) -> Any:
    try:
        qid = parse_qid(qid)
    except BadInput as exc:
        api_error(400, "bad_item", str(exc))
    try:
        summary = item_summary(config(), qid, _language())
    except LookupUnavailable:
        api_error(503, "wiki_unavailable", "Wikidata did not answer in time; try again.")
    if summary is None:
        api_error(404, "no_such_item", f"There is no Wikidata item {qid}.")
    return jsonify({"item": summary.to_json()})


@bp.get("/categories/preview")
@login_required
@rate_limit("wiki")
def category() -> Any:
    try:
        name = normalize_category(request.args.get("title", ""))
    except BadInput as exc:
        api_error(400, "bad_category", str(exc))
    return jsonify({"category": category_preview(config(), name).to_json()})


@bp.get("/sources/preview")
@login_required
@rate_limit("wiki")
def sources() -> Any:
    """Counts of the candidate sources for an item, shown before the owner opts in."""
    try:
        qid = parse_qid(request.args.get("item", ""))
    except BadInput as exc:
        api_error(400, "bad_item", str(exc))
    category = None
    if request.args.get("category"):
        try:
            category = normalize_category(request.args["category"])
        except BadInput as exc:
            api_error(400, "bad_category", str(exc))
    try:
        preview = sources_preview(config(), qid, category, _language())
    except LookupUnavailable:
        api_error(503, "wiki_unavailable", "Commons or Wikidata did not answer in time; try "
                                           "again.")
    if preview is None:
        api_error(404, "no_such_item", f"There is no Wikidata item {qid}.")
    return jsonify(preview)
