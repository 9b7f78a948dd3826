"""Checking what people send to create or change a project; shared by the HTML forms and /api.

Values arrive as strings (forms) or JSON values (API); everything is bounded and validated here,
and errors name the field so both front ends can show them next to it. ``start_project`` is
the one way both create a project (within the owner's quota).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Engine

from likeness.config import Config
from likeness.db import projects
from likeness.db.sources import KINDS as SOURCE_KINDS
from webapp.lookups import (
    BadInput,
    CategoryPreview,
    ItemSummary,
    LookupUnavailable,
    category_preview,
    item_summary,
    normalize_category,
    parse_qid,
)

MAX_FIELD = 500
FLAGS = ("share_knowledge", "seed_outside_tree", "add_region_to_existing", "members_can_send")


class InputErrors(Exception):
    """Field name -> message. ``confirm_not_human``: the form should offer the checkbox."""

    def __init__(self, errors: dict[str, str], confirm_not_human: bool = False) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.confirm_not_human = confirm_not_human


@dataclass
class NewProject:
    item: ItemSummary
    category: CategoryPreview
    depth: int
    warnings: list[str] = field(default_factory=list)
    sources: tuple[str, ...] = ()


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise BadInput(_("Expected text."))
    value = str(value)
    if len(value) > MAX_FIELD:
        raise BadInput(_("Too long."))
    return value.strip()


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "on", "yes")


def parse_depth(value: Any, max_depth: int) -> int:
    """A subcategory depth within this site's limit (quotas.max_depth)."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 3) or int(text) > max_depth:
        raise BadInput(_("Depth must be a whole number from 0 to %(max)d.", max=max_depth))
    return int(text)


def quota_message(limit: int) -> str:
    return _("You already own %(n)d projects, the most one person may have here. Delete one "
             "you no longer need to start another.", n=limit)


def parse_sources(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The candidate sources opted into: a JSON list, or a form's repeated ``sources`` field
    (no field: none)."""
    values = data.getlist("sources") if hasattr(data, "getlist") else data.get("sources")
    if values is None:
        return ()
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise BadInput(_("Sources must be a list."))
    unknown = [v for v in values if v not in SOURCE_KINDS]
    if unknown:
        raise BadInput(_("Unknown source: %(name)s.", name=str(unknown[0])[:40]))
    return tuple(kind for kind in SOURCE_KINDS if kind in values)


def parse_threshold(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        threshold = float(str(value).strip())
    except ValueError as exc:
        raise BadInput(_("Threshold must be a number between 0 and 1, or empty.")) from exc
    if not math.isfinite(threshold) or not 0.0 <= threshold <= 1.0:
        raise BadInput(_("Threshold must be a number between 0 and 1, or empty."))
    return threshold


def prepare_new_project(cfg: Config, data: Mapping[str, Any], language: str) -> NewProject:
    """Validate a creation request and look the item and category up (short timeouts)."""
    errors: dict[str, str] = {}
    qid = category = None
    depth = 1
    try:
        qid = parse_qid(_text(data, "item") or _text(data, "qid"))
    except BadInput as exc:
        errors["item"] = str(exc)
    try:
        category = normalize_category(_text(data, "category"))
    except BadInput as exc:
        errors["category"] = str(exc)
    try:
        if _text(data, "depth"):
            depth = parse_depth(_text(data, "depth"), cfg.quotas.max_depth)
    except BadInput as exc:
        errors["depth"] = str(exc)
    try:
        sources = parse_sources(data)
    except BadInput as exc:
        errors["sources"] = str(exc)
    if errors:
        raise InputErrors(errors)
    assert qid is not None and category is not None
    try:
        item = item_summary(cfg, qid, language, with_image=False)  # the form showed it
    except LookupUnavailable as exc:
        raise InputErrors({"item": _("Wikidata did not answer in time; try again.")}) from exc
    if item is None:
        raise InputErrors({"item": _("There is no Wikidata item %(qid)s.", qid=qid)})
    preview = category_preview(cfg, category)
    if preview.exists is False:
        raise InputErrors({"category": _("Commons has no category “%(name)s”.", name=category)})
    warnings = []
    if not item.is_human:
        if not _flag(data.get("confirm_not_human")):
            raise InputErrors({"item": _("%(label)s (%(qid)s) is not an instance of human (Q5). "
                                         "Tick the box to use it anyway.",
                                         label=item.label, qid=item.qid)},
                              confirm_not_human=True)
        warnings.append("not_human")
    if preview.exists is None:
        warnings.append("category_size_unknown")
    return NewProject(item, preview, depth, warnings, sources)


def start_project(cfg: Config, engine: Engine, user_id: int, data: Mapping[str, Any],
                  language: str) -> tuple[int, NewProject]:
    """Check the owner's quota (first: the look-ups cost Wikimedia calls), validate and look
    up, then create under the quota again. Raises InputErrors or projects.QuotaExceeded."""
    limit = cfg.quotas.projects_per_user
    with engine.connect() as conn:
        projects.check_quota(conn, user_id, limit)
    prepared = prepare_new_project(cfg, data, language)
    with engine.begin() as conn:
        project_id = projects.create(
            conn, owner_id=user_id, qid=prepared.item.qid, label=prepared.item.label,
            description=prepared.item.description, reference_file=prepared.item.reference_file,
            category=prepared.category.title, depth=prepared.depth, max_owned=limit,
            source_kinds=prepared.sources)
    return project_id, prepared


def parse_settings(data: Mapping[str, Any], checkboxes: bool, max_depth: int) -> dict[str, Any]:
    """Owner settings from a form (``checkboxes``: an absent flag means off) or a JSON patch."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "threshold" in data:
        try:
            values["threshold"] = parse_threshold(data["threshold"])
        except BadInput as exc:
            errors["threshold"] = str(exc)
    if "depth" in data:
        try:
            values["depth"] = parse_depth(data["depth"], max_depth)
        except BadInput as exc:
            errors["depth"] = str(exc)
    if "status" in data:
        if data["status"] in ("active", "paused", "archived"):
            values["status"] = data["status"]
        else:
            errors["status"] = _("Status must be active, paused or archived.")
    for flag in FLAGS:
        if flag in data or checkboxes:
            values[flag] = _flag(data.get(flag, False))
    if "sources" in data or checkboxes:
        try:
            values["sources"] = parse_sources(data)
        except BadInput as exc:
            errors["sources"] = str(exc)
    if errors:
        raise InputErrors(errors)
    return values
