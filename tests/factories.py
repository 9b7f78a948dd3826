"""Plain row factories for tests: insert through the schema tables, return the new ids."""

from __future__ import annotations

import itertools

import numpy as np
from sqlalchemy import Connection, insert, select

from likeness.db import files, schema

_seq = itertools.count(1)
_RANDOM = b"random"  # the default: a random encoding


def user(conn: Connection, name: str | None = None) -> int:
    n = next(_seq)
    return conn.execute(insert(schema.users).values(
        wiki_user_id=1000 + n, username=name or f"User {n}")).inserted_primary_key[0]


def project(conn: Connection, owner_id: int, qid: str = "Q42", category: str = "Example",
            **values) -> int:
    project_id = conn.execute(insert(schema.projects).values(
        owner_id=owner_id, qid=qid, label="Douglas Adams", category=category, **values,
    )).inserted_primary_key[0]
    conn.execute(insert(schema.project_members).values(
        project_id=project_id, user_id=owner_id, role="owner"))
    return project_id


def image(conn: Connection, project_id: int, page_id: int | None = None, **values) -> int:
    page_id = page_id or 5_000_000 + next(_seq)
    return conn.execute(insert(schema.images).values(
        project_id=project_id, page_id=page_id, title=f"File:Example {page_id}.jpg", **values,
    )).inserted_primary_key[0]


def face(conn: Connection, project_id: int, image_id: int, encoding: bytes | None = _RANDOM,
         **values) -> int:
    """A face with its encoding stored as a detection on the image's file (shared by every
    project, or the project's own for a drawn box), as the worker stores it; ``encoding=None``
    makes a face without one (a drawn box still waiting)."""
    box = {"box_left": 0.1, "box_top": 0.2, "box_width": 0.3, "box_height": 0.4}
    box.update({k: values.pop(k) for k in list(values) if k in box})
    if encoding is _RANDOM:
        encoding = np.random.default_rng(next(_seq)).normal(size=128).astype("<f4").tobytes()
    if encoding is not None:
        image = conn.execute(select(schema.images.c.page_id, schema.images.c.title).where(
            schema.images.c.id == image_id)).one()
        file_id = files.ensure(conn, image.page_id, image.title)
        values["detection_id"] = conn.execute(insert(schema.detections).values(
            file_id=file_id, encoding=encoding, created_at=schema.utcnow(),
            project_id=project_id if values.get("source") == "manual" else None, **box,
        )).inserted_primary_key[0]
    return conn.execute(insert(schema.faces).values(
        project_id=project_id, image_id=image_id, **box, **values,
    )).inserted_primary_key[0]


def decision(conn: Connection, face_id: int, project_id: int, user_id: int,
             answer: str = "yes") -> int:
    return conn.execute(insert(schema.decisions).values(
        face_id=face_id, project_id=project_id, user_id=user_id, answer=answer,
    )).inserted_primary_key[0]


def detect(conn: Connection, page_id: int, detected: list, sha1: str = "a" * 40,
           title: str | None = None, owner: str = "factory") -> files.FileState:
    """A file detected as a worker does it (claim, record, store); returns the file."""
    from likeness.db import faces_store
    from likeness.db.files import ThumbInfo

    claim = files.claim(conn, page_id, title or f"File:Example {page_id}.jpg", sha1, owner, 60)
    assert claim.outcome == "mine", claim
    thumb = ThumbInfo(f"http://upload.test/{page_id}.jpg", 1280, 960, "image/jpeg", 4000, 3000)
    state = files.finish_detection(conn, claim.file.id, owner, sha1, thumb, len(detected))
    assert state is not None
    faces_store.store_detections(conn, state, detected, claim.file.sha1)
    return state
