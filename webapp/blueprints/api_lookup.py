"""JSON look-ups for the project form: item search (autocomplete), item summary, category size.

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
