"""The crawl's second half: the search sources a project opted into, and re-upload checks.

``search``: files whose title, description or caption mentions one of the item's labels (every
language, at most ``wikidata.MAX_TERMS`` spellings), ``"<label>" filetype:bitmap``;
``related``: files depicting an item the person took part in, ``haswbstatement:P180=Q1|
P180=Q2 filetype:bitmap``. Both newest uploads first and capped at ``sources.search_files``
files per listing, so a re-crawl sees new uploads and never pulls an unlimited list. (The
item's Commons category, the third source, is crawled with the tree: worker.crawl.)

Re-uploads: up to ``sources.reupload_checks`` of the project's files not compared with Commons
for a re-crawl interval get their sha1 read (50 per request); a changed one sends the file's
images back to the queue in every project.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from likeness.db import files as file_rows
from likeness.db import images as image_rows
from likeness.db import sources
from likeness.db.images import FoundFile
from likeness.db.schema import utcnow
from likeness.wiki.commons import SearchHit, file_sha1s, search_files
from likeness.wiki.sources import related_query, search_queries
from likeness.wiki.wikidata import SourceFacts
from worker.context import WorkerContext
from worker.photos import is_photo_title

CHECK_BATCH = 500  # sha1s read between two keep_going() checks


def queries_for(kind: str, facts: SourceFacts) -> list[str]:
    if kind == "search":
        return search_queries(facts.terms)
    return [related_query(facts.related)] if facts.related else []


def list_capped(api: Any, queries: list[str], cap: int) -> tuple[list[SearchHit], bool]:
    """Files found by the queries, newest uploads first, at most ``cap`` in all."""
    hits: dict[int, SearchHit] = {}
    for query in queries:
        found = search_files(api, query, cap - len(hits), newest_first=True)
        hits.update((hit.pageid, hit) for hit in found.hits if hit.pageid not in hits)
        if found.capped or len(hits) >= cap:
            return list(hits.values())[:cap], True
    return list(hits.values()), False


def list_sources(ctx: WorkerContext, project_id: int, facts: SourceFacts, kinds: set[str],
                 keep_going: Callable[[], bool]) -> dict[str, dict[str, Any]]:
    """List the project's search sources into images (within the file quota); returns what
    each found."""
    cap = ctx.cfg.sources.search_files
    out: dict[str, dict[str, Any]] = {}
    for kind in ("search", "related"):
        if kind not in kinds or not keep_going():
            continue
        started = utcnow()
        hits, capped = list_capped(ctx.wiki.commons, queries_for(kind, facts), cap)
        photos = [FoundFile(h.pageid, h.title) for h in hits if is_photo_title(h.title)]
        with ctx.engine.begin() as conn:
            # Never past the project's file quota (quotas.files_per_project).
            room = ctx.cfg.quotas.files_per_project - image_rows.count(conn, project_id)
            capped = capped or len(photos) > room
            new = image_rows.add_found(conn, project_id, photos[:max(room, 0)], origin=kind)
            sources.record_run(conn, project_id, kind, started, len(hits), new, capped)
        out[kind] = {"listed": len(hits), "new": new, "capped": capped}
    return out


def check_reuploads(ctx: WorkerContext, project_id: int,
                    keep_going: Callable[[], bool]) -> int:
    """Compare the sha1 of the project's files not checked for a re-crawl interval with
    Commons; returns how many were re-uploaded (their images are queued again)."""
    before = utcnow() - dt.timedelta(hours=ctx.cfg.worker.recrawl_hours)
    with ctx.engine.connect() as conn:
        due = file_rows.due_for_check(conn, project_id, before, ctx.cfg.sources.reupload_checks)
    changed = 0
    for start in range(0, len(due), CHECK_BATCH):
        if not keep_going():
            break
        sha1s = file_sha1s(ctx.wiki.commons, [page for _, page in due[start:start + CHECK_BATCH]])
        with ctx.engine.begin() as conn:
            changed += len(file_rows.record_checks(conn, sha1s))
    return changed
