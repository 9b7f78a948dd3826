"""The CirrusSearch queries behind a project's search sources (likeness.db.sources), shared by
the worker that lists them and the web app that previews their counts. Bitmaps only: drawings,
documents, audio and video have no faces to find."""

from __future__ import annotations

from collections.abc import Sequence

BITMAPS = "filetype:bitmap"


def search_queries(terms: Sequence[str]) -> list[str]:
    """One phrase query per label (title, description or caption mentions it)."""
    return [f'"{term}" {BITMAPS}' for term in terms]


def related_query(qids: Sequence[str]) -> str:
    """Files already depicting any of the items (``|`` is OR in one haswbstatement)."""
    return "haswbstatement:" + "|".join(f"P180={qid}" for qid in qids) + f" {BITMAPS}"
