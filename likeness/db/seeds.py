"""Provisional positives before the first answer: the item's P18 photos and files already
carrying P180 = the item. Their faces get ``source='seed'``: asked first, never trained on
until a person confirms them (training reads human labels only).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select, update

from likeness.db import images as image_rows
from likeness.db.images import FoundFile
from likeness.db.schema import faces, images, projects


def project(conn: Connection, project_id: int) -> Any:
    return conn.execute(select(projects.c.id, projects.c.qid, projects.c.status,
                               projects.c.seed_outside_tree)
                        .where(projects.c.id == project_id)).first()


def add_seed_files(conn: Connection, project_id: int, files: Iterable[FoundFile], origin: str,
                   include_new: bool) -> int:
    """Mark known files as seed sources; add unknown ones when ``include_new``.

    Returns how many images are seed sources after the call (of those given).
    """
    files = list(files)
    if include_new:
        image_rows.add_found(conn, project_id, files, origin=origin)
    page_ids = [f.page_id for f in files]
    if not page_ids:
        return 0
    conn.execute(update(images).where(images.c.project_id == project_id,
                                      images.c.page_id.in_(page_ids),
                                      images.c.origin == "category").values(origin=origin))
    seeded = select(images.c.id).where(images.c.project_id == project_id,
                                       images.c.page_id.in_(page_ids))
    # Faces already detected on those images become provisional positives (unanswered only).
    conn.execute(update(faces).where(faces.c.image_id.in_(seeded),
                                     faces.c.source == "detector", faces.c.label.is_(None))
                 .values(source="seed"))
    return len(conn.execute(seeded).all())

