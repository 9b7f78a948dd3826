"""The ``seed`` job: provisional positives before the first answer.

The item's P18 photo(s) and the files whose structured data already says P180 = the item
(``haswbstatement`` search; files outside the category tree only if the owner opted in) become
seed sources: their faces are asked first, and train nothing until a person confirms them.
Queued after every finished crawl, so new uploads that carry P180 are found too. A wiki failure
propagates to the job runner's retry policy.
"""

from __future__ import annotations

from typing import Any

from likeness.db import seeds
from likeness.db.images import FoundFile
from likeness.db.jobs import Job
from likeness.wiki.commons import image_infos, search_depicts
from likeness.wiki.wikidata import get_item
from worker.context import WorkerContext

SEARCH_LIMIT = 1000
REFERENCE_THUMB_WIDTH = 330  # only the page ids are needed; the smallest standard width


def run(ctx: WorkerContext, job: Job) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        project = seeds.project(conn, job.project_id) if job.project_id is not None else None
    if project is None or project.status != "active":
        return {"skipped": "project gone or not active"}
    commons, wikidata = ctx.wiki.commons, ctx.wiki.wikidata
    item = get_item(wikidata, project.qid)
    titles = item.p18_files if item else []
    references = [FoundFile(info.pageid, info.title)
                  for info in image_infos(commons, titles, REFERENCE_THUMB_WIDTH).found]
    ctx.beat("busy", f"seed project {project.id}")
    depicting = [FoundFile(hit.pageid, hit.title)
                 for hit in search_depicts(commons, project.qid, SEARCH_LIMIT)]
    with ctx.engine.begin() as conn:
        n_ref = seeds.add_seed_files(conn, project.id, references, "reference",
                                     include_new=True)
        n_dep = seeds.add_seed_files(conn, project.id, depicting, "depicts",
                                     include_new=bool(project.seed_outside_tree))
    return {"reference_files": n_ref, "depicts_files": n_dep}
