"""Migration 0007 moves existing encodings into files and detections, with data in the tables,
on the test run's database (SQLite, or MariaDB with LIKENESS_TEST_DATABASE_URL), and the
downgrade puts them back: nothing lost, nothing a person said touched."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from likeness.db.engine import engine_for_url
from likeness.db.migrate import downgrade, upgrade
from tests.fixtures.db import create_database_url

NOW = dt.datetime(2026, 11, 1, 12, 0, 0)
ENC = {n: bytes([n]) * 512 for n in range(1, 8)}


def _table(name: str, *columns: str) -> sa.TableClause:
    return sa.table(name, *(sa.column(c) for c in columns))


users = _table("users", "id", "wiki_user_id", "username", "created_at")
projects = _table("projects", "id", "owner_id", "qid", "label", "description", "category",
                  "depth", "status", "share_knowledge", "seed_outside_tree",
                  "add_region_to_existing", "members_can_send", "created_at")
images = _table("images", "id", "project_id", "page_id", "title", "origin", "status",
                "attempts", "faces_found", "thumb_url", "thumb_width", "thumb_height",
                "processed_at", "created_at")
faces = _table("faces", "id", "project_id", "image_id", "box_left", "box_top", "box_width",
               "box_height", "encoding", "source", "state", "label", "created_at",
               "detection_id")
decisions = _table("decisions", "id", "project_id", "face_id", "user_id", "answer", "via",
                   "created_at")
files = _table("files", "id", "page_id", "sha1", "thumb_url", "faces_found")
detections = _table("detections", "id", "file_id", "encoding", "project_id", "box_left")


def _old_world(conn: sa.Connection) -> None:
    """Two projects over page 100 (detected by each: one face with the very same box, one
    slightly off), and page 200 in one project with a seed face, a drawn box and a drawn box
    still waiting for its encoding."""
    conn.execute(sa.insert(users).values(id=1, wiki_user_id=1, username="U", created_at=NOW))
    for pid, cat in ((1, "A"), (2, "B")):
        conn.execute(sa.insert(projects).values(
            id=pid, owner_id=1, qid="Q1", label="L", description="", category=cat, depth=1,
            status="active", share_knowledge=False, seed_outside_tree=False,
            add_region_to_existing=False, members_can_send=False, created_at=NOW))
    for iid, pid, page, found in ((10, 1, 100, 2), (11, 2, 100, 2), (12, 1, 200, 1)):
        conn.execute(sa.insert(images).values(
            id=iid, project_id=pid, page_id=page, title=f"File:{page}.jpg", origin="category",
            status="done", attempts=1, faces_found=found, thumb_url=f"http://u/{iid}.jpg",
            thumb_width=1280, thumb_height=960, processed_at=NOW, created_at=NOW))
    rows = [  # id, project, image, left, encoding, source, state
        (1, 1, 10, 0.125, ENC[1], "detector", "active"),
        (2, 1, 10, 0.5, ENC[2], "detector", "active"),
        (3, 2, 11, 0.125, ENC[1], "detector", "active"),     # the same box and encoding
        (4, 2, 11, 0.53125, ENC[4], "detector", "active"),   # thumbnail re-rendered: off
        (5, 1, 12, 0.25, ENC[5], "seed", "active"),
        (6, 1, 12, 0.75, ENC[6], "manual", "active"),
        (7, 1, 12, 0.0625, None, "manual", "encoding")]
    for fid, pid, iid, left, enc, source, state in rows:
        conn.execute(sa.insert(faces).values(
            id=fid, project_id=pid, image_id=iid, box_left=left, box_top=0.25,
            box_width=0.125, box_height=0.25, encoding=enc, source=source, state=state,
            label="yes" if fid in (1, 3) else None, created_at=NOW))
    for did, fid, pid in ((1, 1, 1), (2, 3, 2)):
        conn.execute(sa.insert(decisions).values(id=did, project_id=pid, face_id=fid,
                                                 user_id=1, answer="yes", via="classify",
                                                 created_at=NOW))


def test_encodings_move_to_shared_detections_and_back(tmp_path_factory):
    url = create_database_url(tmp_path_factory, "m0007")
    engine = engine_for_url(url)
    try:
        upgrade(url, "0003")
        with engine.begin() as conn:
            _old_world(conn)
        upgrade(url)
        with engine.connect() as conn:
            by_page = {r.page_id: r for r in conn.execute(sa.select(files))}
            assert set(by_page) == {100, 200}
            assert by_page[100].sha1 is None and by_page[100].faces_found == 2
            assert by_page[100].thumb_url == "http://u/10.jpg"   # project A's image
            used = dict(conn.execute(
                sa.select(faces.c.id, detections.c.encoding)
                .select_from(faces.outerjoin(detections,
                                             detections.c.id == faces.c.detection_id))).all())
            assert used == {1: ENC[1], 2: ENC[2], 3: ENC[1], 4: ENC[4], 5: ENC[5],
                            6: ENC[6], 7: None}
            owner = {r.id: r.project_id for r in conn.execute(
                sa.select(faces.c.id, detections.c.project_id)
                .join(detections, detections.c.id == faces.c.detection_id))}
            # Shared: the canonical image's detector and seed faces, and B's identical box
            # (one detection for faces 1 and 3); private: B's other face and the drawn box.
            assert owner == {1: None, 2: None, 3: None, 4: 2, 5: None, 6: 1}
            links = dict(conn.execute(sa.select(faces.c.id, faces.c.detection_id)).all())
            assert links[1] == links[3] and links[7] is None
            assert conn.execute(sa.select(sa.func.count()).select_from(detections)
                                ).scalar_one() == 5
            assert conn.execute(sa.select(sa.func.count()).select_from(decisions)
                                ).scalar_one() == 2
        downgrade(url, "0003")
        with engine.connect() as conn:
            back = dict(conn.execute(sa.select(sa.column("id"), sa.column("encoding"))
                                     .select_from(sa.table("faces"))).all())
            assert back == {1: ENC[1], 2: ENC[2], 3: ENC[1], 4: ENC[4], 5: ENC[5],
                            6: ENC[6], 7: None}
            assert conn.execute(sa.select(sa.func.count()).select_from(decisions)
                                ).scalar_one() == 2
            assert not sa.inspect(conn).has_table("detections")
    finally:
        engine.dispose()
