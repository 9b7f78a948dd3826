"""The worker's Commons clients: listings and imageinfo, built so that nothing blocks for long.

HTTP-level retries are off and maxlag is not waited out here: a throttled or lagged answer
becomes a typed error, and the caller defers the work (``next_try_at`` / ``run_after``) instead
of sleeping in the loop that must touch the health file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from likeness.config import Config
from likeness.db.images import FoundFile
from likeness.useragent import user_agent
from likeness.wiki.api import ActionApi
from likeness.wiki.errors import ResponseFormatError
from likeness.wiki.http import RetryPolicy, make_session

API_TIMEOUT = 10.0  # seconds per socket read; a unit beats before and after each request
PAGE_SIZE = 500  # categorymembers per request (the API's maximum for normal users)


def http_session(cfg: Config, timeout: float = API_TIMEOUT) -> requests.Session:
    """A session with the tool's User-Agent and no retries (the worker defers instead)."""
    return make_session(user_agent(cfg), timeout=min(timeout, cfg.wiki.timeout),
                        retry=RetryPolicy(attempts=1))


def commons_api(cfg: Config, session: requests.Session | None = None) -> ActionApi:
    return ActionApi(cfg.wiki.commons_api, session or http_session(cfg),
                     read_maxlag=cfg.wiki.maxlag, maxlag_retries=0)


def api_timestamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class CategoryLister:
    """Category members through ``list=categorymembers``, one API page at a time."""

    def __init__(self, api: ActionApi, page_size: int = PAGE_SIZE) -> None:
        self.api = api
        self.page_size = page_size

    def files(self, category: str, since: dt.datetime | None) -> Iterator[list[FoundFile]]:
        """Files of ``Category:<category>``; with ``since``, only those added since then."""
        params: dict[str, Any] = {
            "action": "query", "list": "categorymembers", "cmtitle": f"Category:{category}",
            "cmtype": "file", "cmprop": "ids|title", "cmlimit": self.page_size}
        if since is not None:
            params.update(cmsort="timestamp", cmdir="ascending", cmstart=api_timestamp(since))
        for doc in self.api.continued(params):
            yield [FoundFile(int(m["pageid"]), str(m["title"])) for m in _members(doc)]

    def subcategories(self, category: str) -> Iterator[list[str]]:
        """Titles (without ``Category:``) of the subcategories, every time in full: the
        subcategory lists are small, and a project's depth may have grown since."""
        params = {"action": "query", "list": "categorymembers",
                  "cmtitle": f"Category:{category}", "cmtype": "subcat", "cmprop": "title",
                  "cmlimit": self.page_size}
        for doc in self.api.continued(params):
            yield [str(m["title"]).split(":", 1)[-1] for m in _members(doc)]


def _members(doc: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        return list(doc.get("query", {}).get("categorymembers", []))
    except AttributeError as exc:
        raise ResponseFormatError(f"categorymembers: unexpected answer {str(doc)[:200]}") from exc


@dataclass(frozen=True)
class FileInfo:
    """imageinfo of one file page, by page id; ``missing`` when Commons has no such file."""

    page_id: int
    title: str = ""
    missing: bool = False
    mime: str = ""
    width: int | None = None
    height: int | None = None
    thumb_url: str = ""
    thumb_width: int | None = None
    thumb_height: int | None = None


def image_infos(api: ActionApi, page_ids: Sequence[int], width: int) -> dict[int, FileInfo]:
    """imageinfo with a ``width`` px thumbnail for up to 50 page ids, merged over iicontinue."""
    params = {"action": "query", "prop": "imageinfo", "pageids": list(page_ids),
              "iiprop": "url|size|mime", "iiurlwidth": width}
    found: dict[int, FileInfo] = {}
    for doc in api.continued(params):
        pages = doc.get("query", {}).get("pages", [])
        if isinstance(pages, dict):  # formatversion=1 shape, in case a proxy rewrote it
            pages = list(pages.values())
        for page in pages:
            info = _file_info(page)
            if info is not None and (info.page_id not in found or found[info.page_id].missing):
                found[info.page_id] = info
    return {pid: found.get(pid, FileInfo(pid, missing=True)) for pid in page_ids}


def _file_info(page: dict[str, Any]) -> FileInfo | None:
    if "pageid" not in page:
        return None
    page_id, title = int(page["pageid"]), str(page.get("title", ""))
    infos = page.get("imageinfo") or []
    if page.get("missing") is not None or page.get("invalid") is not None:
        return FileInfo(page_id, title, missing=True)
    if not infos:
        # Listed without imageinfo: either an iicontinue page (filled in by a later answer)
        # or a file page whose file is gone.
        return FileInfo(page_id, title, missing=True)
    ii = infos[0]
    return FileInfo(page_id, title, mime=str(ii.get("mime", "")), width=ii.get("width"),
                    height=ii.get("height"), thumb_url=str(ii.get("thumburl") or ""),
                    thumb_width=ii.get("thumbwidth"), thumb_height=ii.get("thumbheight"))
