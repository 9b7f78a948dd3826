"""The ``seed`` job: provisional positives before the first answer.

The item's P18 photo(s) and the files whose structured data already says P180 = the item
(``haswbstatement`` search; files outside the category tree only if the owner opted in) become
seed sources: their faces are asked first, and train nothing until a person confirms them.
Queued after every finished crawl, so new uploads that carry P180 are found too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from likeness.db import seeds
from likeness.db.images import FoundFile
from likeness.db.jobs import Job
from likeness.wiki.api import ActionApi
from likeness.wiki.commons import lookup_image_infos, search_depicts
from likeness.wiki.errors import WikiError
from likeness.wiki.wikidata import get_item
from worker.jobs import RetryLater
from worker.wiki import commons_api, http_session

if TYPE_CHECKING:
    from worker.main import Worker

SEARCH_LIMIT = 1000
RETRY_SECONDS = 300


class SeedJob:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        cfg = worker.cfg
        self.commons = commons_api(cfg)
        self.wikidata = ActionApi(cfg.wiki.wikidata_api, http_session(cfg),
                                  read_maxlag=cfg.wiki.maxlag, maxlag_retries=0)

    def __call__(self, job: Job) -> dict[str, Any]:
        engine = self.worker.engine
        with engine.connect() as conn:
            project = seeds.project(conn, job.project_id)
        if project is None or project.status != "active":
            return {"skipped": "project gone or not active"}
        try:
            item = get_item(self.wikidata, project.qid)
            references = self._files(item.p18_files if item else [])
            self.worker.beat("busy", f"seed project {project.id}")
            depicting = [FoundFile(hit.pageid, hit.title)
                         for hit in search_depicts(self.commons, project.qid, SEARCH_LIMIT)]
        except WikiError as exc:
            raise RetryLater(f"seed lookup failed: {exc}", RETRY_SECONDS) from exc
        with engine.begin() as conn:
            n_ref = seeds.add_seed_files(conn, project.id, references, "reference",
                                         include_new=True)
            n_dep = seeds.add_seed_files(conn, project.id, depicting, "depicts",
                                         include_new=bool(project.seed_outside_tree))
        return {"reference_files": n_ref, "depicts_files": n_dep}

    def _files(self, titles: list[str]) -> list[FoundFile]:
        if not titles:
            return []
        found, _missing = lookup_image_infos(self.commons, titles, thumb_width=330)
        return [FoundFile(info.pageid, info.title) for info in found]
