"""Plain row factories for tests: insert through the schema tables, return the new ids."""

from __future__ import annotations

import itertools

import numpy as np
from sqlalchemy import Connection, insert

from likeness.db import schema

_seq = itertools.count(1)


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


def face(conn: Connection, project_id: int, image_id: int, **values) -> int:
    rng = np.random.default_rng(next(_seq))
    values.setdefault("encoding", rng.normal(size=128).astype("<f4").tobytes())
    return conn.execute(insert(schema.faces).values(
        project_id=project_id, image_id=image_id, box_left=0.1, box_top=0.2, box_width=0.3,
        box_height=0.4, **values,
    )).inserted_primary_key[0]


def decision(conn: Connection, face_id: int, project_id: int, user_id: int,
             answer: str = "yes") -> int:
    return conn.execute(insert(schema.decisions).values(
        face_id=face_id, project_id=project_id, user_id=user_id, answer=answer,
    )).inserted_primary_key[0]
