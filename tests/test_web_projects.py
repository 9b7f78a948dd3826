"""Creating projects from a Wikidata item and a Commons category (stand-in over real HTTP),
settings, dashboard and deletion (every derived row, face encodings included)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from likeness.db import faces_store, invites, members, schema
from likeness.faces.types import Box, DetectedFace
from tests import factories
from tests.fixtures.web import csrf_form, csrf_headers, login


@pytest.fixture
def app(make_app, standin):
    return make_app(**standin.config_overrides())


@pytest.fixture
def owner(engine):
    with engine.begin() as conn:
        return factories.user(conn, "Owner One")


@pytest.fixture
def client(app, owner):
    client = app.test_client()
    login(client, owner)
    return client


@pytest.fixture
def person(standin_catalog):
    return standin_catalog.person("bill_gates")


def _category(person) -> str:
    return person.category.removeprefix("Category:")


def test_lookups_for_the_form(client, person, standin):
    hits = client.get("/api/items/search", query_string={"q": person.name[:6]}).get_json()
    assert person.qid in [hit["qid"] for hit in hits["items"]]
    item = client.get(f"/api/items/{person.qid}").get_json()["item"]
    assert item["label"] == person.name and item["is_human"] is True
    assert item["image_url"].startswith(standin.urls.upload)
    assert item["reference_file"].startswith("File:")
    preview = client.get("/api/categories/preview",
                         query_string={"title": person.category}).get_json()["category"]
    assert preview["exists"] is True and preview["files"] >= 1
    assert preview["title"] == _category(person)
    assert client.get("/api/items/Q999999999").status_code == 404
    assert client.get("/api/items/banana").status_code == 400
    bad = client.get("/api/categories/preview", query_string={"title": "a|b"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_category"


def test_create_from_form_queues_a_crawl_at_once(client, person, engine, owner):
    response = client.post("/projects/new", data={
        "item": f"https://www.wikidata.org/wiki/{person.qid}", "category": person.category,
        "depth": "2", **csrf_form(client)})
    assert response.status_code == 302
    project_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with engine.connect() as conn:
        row = conn.execute(select(schema.projects).where(
            schema.projects.c.id == project_id)).one()
        job = conn.execute(select(schema.jobs).where(
            schema.jobs.c.project_id == project_id)).one()
        role = members.role_of(conn, project_id, owner)
    assert (row.qid, row.label, row.category, row.depth) == (
        person.qid, person.name, _category(person), 2)
    assert row.reference_file and row.status == "active"
    assert (job.kind, job.state, job.run_after) == ("crawl", "queued", None)  # ready at once
    assert role == "owner"
    page = client.get(f"/projects/{project_id}").get_data(as_text=True)
    assert person.name in page


def test_a_non_human_needs_confirmation(client, standin_catalog):
    dog = next(i for i in standin_catalog.items if i.labels.get("en") == "dog")
    form = {"item": dog.id, "category": "Likeness test no faces", **csrf_form(client)}
    response = client.post("/projects/new", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "not an instance of human" in page and 'name="confirm_not_human"' in page
    response = client.post("/projects/new", data={**form, "confirm_not_human": "1"})
    assert response.status_code == 302


def test_bad_input_gets_clear_errors(client, person):
    form = csrf_form(client)
    response = client.post("/projects/new", data={"item": "Douglas", "category": "", **form})
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Paste a Q-id" in text and "Enter a Commons category name" in text
    response = client.post("/projects/new", data={
        "item": person.qid, "category": "No such category at all", **form})
    assert response.status_code == 422 and "Commons has no category" in response.get_data(
        as_text=True)
    api = client.post("/api/projects", json={"item": person.qid, "category": person.category,
                                             "depth": 11}, headers=csrf_headers(client))
    assert api.status_code == 422 and "depth" in api.get_json()["error"]["fields"]


def test_slow_commons_degrades_to_unknown_size(client, person, standin):
    standin.fault("commons.api", "delay", times=None, seconds=6)
    preview = client.get("/api/categories/preview",
                         query_string={"title": person.category}).get_json()["category"]
    assert preview == {"title": _category(person), "exists": None, "files": None,
                       "subcats": None}


def test_wikidata_down_is_a_clear_error_not_a_crash(client, person, standin):
    standin.fault("wikidata.api", "http", times=None, status=503)
    response = client.post("/api/projects", json={"item": person.qid,
                                                  "category": person.category},
                           headers=csrf_headers(client))
    assert response.status_code == 422
    assert "did not answer" in response.get_json()["error"]["fields"]["item"]
    assert client.get(f"/api/items/{person.qid}").status_code == 503


def test_api_create_settings_pause_resume_archive(client, person):
    headers = csrf_headers(client)
    created = client.post("/api/projects", json={"item": person.qid,
                                                 "category": person.category},
                          headers=headers)
    assert created.status_code == 201
    project = created.get_json()["project"]
    url = f"/api/projects/{project['id']}"
    assert project["role"] == "owner" and project["status"] == "active"
    patched = client.patch(url, json={"threshold": 0.7, "depth": 3, "status": "paused"},
                           headers=headers).get_json()["project"]
    assert (patched["threshold"], patched["depth"], patched["status"]) == (0.7, 3, "paused")
    assert client.patch(url, json={"threshold": 1.5}, headers=headers).status_code == 422
    assert client.patch(url, json={"status": "deleted"}, headers=headers).status_code == 422
    assert client.patch(url, json={"threshold": None, "status": "active"},
                        headers=headers).get_json()["project"]["threshold"] is None
    response = client.post(f"/projects/{project['id']}/status",
                           data={"action": "archive", **csrf_form(client)})
    assert response.status_code == 302
    assert client.get(url).get_json()["project"]["status"] == "archived"
    listed = client.get("/api/projects").get_json()["projects"]
    assert [p["id"] for p in listed] == [project["id"]]
    assert listed[0]["progress"] == {"images_total": 0, "images_done": 0, "faces_total": 0,
                                     "faces_labelled": 0}


def test_settings_form_saves_flags(client, engine, owner):
    with engine.begin() as conn:
        project_id = factories.project(conn, owner)
    response = client.post(f"/projects/{project_id}/settings", data={
        "threshold": "0.25", "depth": "0", "members_can_send": "1", **csrf_form(client)})
    assert response.status_code == 302
    with engine.connect() as conn:
        row = conn.execute(select(schema.projects).where(
            schema.projects.c.id == project_id)).one()
    assert (row.threshold, row.depth, row.members_can_send, row.share_knowledge) == (
        0.25, 0, True, False)
    bad = client.post(f"/projects/{project_id}/settings",
                      data={"threshold": "nan", "depth": "1", **csrf_form(client)})
    assert bad.status_code == 422


def test_dashboard_shows_own_and_joined_projects_with_progress(client, engine, owner):
    with engine.begin() as conn:
        other = factories.user(conn, "Someone Else")
        own = factories.project(conn, owner, category="Own category")
        joined = factories.project(conn, other, category="Joined category")
        members.add(conn, joined, owner)
        hidden = factories.project(conn, other, category="Not mine")
        image = factories.image(conn, own, status="done")
        factories.image(conn, own)
        factories.face(conn, own, image, label="yes")
        factories.face(conn, own, image)
    page = client.get("/").get_data(as_text=True)
    assert "Own category" in page and "Joined category" in page and "Not mine" not in page
    listed = {p["id"]: p for p in client.get("/api/projects").get_json()["projects"]}
    assert set(listed) == {own, joined} and hidden not in listed
    assert listed[own]["progress"] == {"images_total": 2, "images_done": 1, "faces_total": 2,
                                       "faces_labelled": 1}
    assert listed[joined]["role"] == "labeller"


def _count(conn, table, project_id=None) -> int:
    query = select(func.count()).select_from(table)
    if project_id is not None:
        query = query.where(table.c.project_id == project_id)
    return conn.execute(query).scalar()


def test_delete_removes_every_derived_row_and_the_encodings(client, engine, owner):
    face = DetectedFace(Box(0.1, 0.2, 0.3, 0.4), bytes(range(256)) * 2)
    with engine.begin() as conn:
        labeller = factories.user(conn)
        project_id = factories.project(conn, owner)
        keep = factories.project(conn, owner, category="Kept")
        members.add(conn, project_id, labeller)
        invites.create(conn, project_id, owner)
        shared = factories.detect(conn, 7_000_001, [face])   # a file in both projects
        alone = factories.detect(conn, 7_000_002, [face])    # only in the deleted one
        for pid in (project_id, keep):
            image = factories.image(conn, pid, page_id=shared.page_id)
            faces_store.link(conn, image, shared)
            face_id = conn.execute(select(schema.faces.c.id).where(
                schema.faces.c.image_id == image)).scalar_one()
            factories.decision(conn, face_id, pid, labeller)
        faces_store.link(conn, factories.image(conn, project_id, page_id=alone.page_id), alone)
    response = client.post(f"/projects/{project_id}/delete",
                           data={"confirm": "wrong", **csrf_form(client)})
    assert response.status_code == 302
    with engine.connect() as conn:
        assert _count(conn, schema.faces, project_id) == 2  # not confirmed: still there
    response = client.post(f"/projects/{project_id}/delete",
                           data={"confirm": "q42", **csrf_form(client)})
    assert response.status_code == 302
    with engine.connect() as conn:
        for table in (schema.faces, schema.images, schema.decisions, schema.invites,
                      schema.project_members, schema.jobs, schema.project_categories,
                      schema.model_runs, schema.project_sources):
            assert _count(conn, table, project_id) == 0, table.name
        # The file only the deleted project had is gone with its encoding; the shared one
        # keeps its encoding for the other project.
        assert conn.execute(select(schema.files.c.page_id)).scalars().all() == [7_000_001]
        assert conn.execute(select(func.count()).select_from(schema.detections).where(
            schema.detections.c.encoding.is_not(None))).scalar() == 1
        assert _count(conn, schema.faces, keep) == 1
    assert client.get(f"/projects/{project_id}").status_code == 404


def test_api_delete(client, engine, owner):
    with engine.begin() as conn:
        project_id = factories.project(conn, owner)
        factories.face(conn, project_id, factories.image(conn, project_id))
    assert client.delete(f"/api/projects/{project_id}",
                         headers=csrf_headers(client)).status_code == 204
    with engine.connect() as conn:
        assert _count(conn, schema.faces) == 0 and _count(conn, schema.projects) == 0


def test_a_person_may_own_only_so_many_projects(make_app, standin, engine, owner, person):
    app = make_app(**standin.config_overrides(), quotas={"projects_per_user": 2})
    client = app.test_client()
    login(client, owner)
    headers = csrf_headers(client)
    body = {"item": person.qid, "category": person.category}
    assert [client.post("/api/projects", json=body, headers=headers).status_code
            for _ in range(2)] == [201, 201]
    looked_up = len(standin.requests_log())
    refused = client.post("/api/projects", json=body, headers=headers)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "quota_exceeded" and "own 2 projects" in error["message"]
    assert len(standin.requests_log()) == looked_up  # refused before any Wikimedia call
    page = client.post("/projects/new", data={**body, **csrf_form(client)})
    assert page.status_code == 409 and "own 2 projects" in page.get_data(as_text=True)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.projects)).scalar() == 2


def test_creations_at_once_cannot_slip_under_the_quota_together(engine, owner):
    import threading

    from likeness.db import projects

    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    sqlite = engine.dialect.name == "sqlite"  # its transactions serialise from the start

    def create(i: int) -> None:
        if sqlite:
            barrier.wait()
        try:
            with engine.begin() as conn:
                if not sqlite:  # all four transactions open, then they race
                    conn.execute(select(1))
                    barrier.wait()
                projects.create(conn, owner_id=owner, qid=f"Q{i + 1}", label="P",
                                category=f"C{i}", max_owned=1)
            outcomes.append("created")
        except projects.QuotaExceeded:
            outcomes.append("refused")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["created", "refused", "refused", "refused"]


def test_depth_and_file_limits_are_enforced_and_shown_to_the_owner(make_app, standin, engine,
                                                                   owner, person):
    app = make_app(**standin.config_overrides(),
                   quotas={"max_depth": 2, "files_per_project": 3})
    client = app.test_client()
    login(client, owner)
    headers = csrf_headers(client)
    deep = client.post("/api/projects", json={"item": person.qid, "category": person.category,
                                              "depth": 3}, headers=headers)
    assert deep.status_code == 422
    assert deep.get_json()["error"]["fields"]["depth"] == \
        "Depth must be a whole number from 0 to 2."
    project_id = client.post("/api/projects", json={
        "item": person.qid, "category": person.category, "depth": 2},
        headers=headers).get_json()["project"]["id"]
    assert client.patch(f"/api/projects/{project_id}", json={"depth": 3},
                        headers=headers).status_code == 422
    with engine.begin() as conn:
        for _ in range(3):
            factories.image(conn, project_id)
    limits = client.get(f"/api/projects/{project_id}").get_json()["limits"]
    assert limits == {"files_per_project": 3, "files": 3, "max_depth": 2,
                      "projects_per_user": 20}
    settings = client.get(f"/projects/{project_id}/settings").get_data(as_text=True)
    assert 'id="limits"' in settings and "3 of at most 3" in settings
    assert 'max="2"' in settings
    german = client.get(f"/projects/{project_id}/settings", headers={"Accept-Language": "de"})
    assert "Grenzen auf dieser Website" in german.get_data(as_text=True)
    assert 'id="file-limit"' in client.get(f"/projects/{project_id}").get_data(as_text=True)
    # Labellers see the project, not the owner's limits.
    with engine.begin() as conn:
        labeller = factories.user(conn)
        members.add(conn, project_id, labeller, "labeller")
    other = app.test_client()
    login(other, labeller)
    assert "limits" not in other.get(f"/api/projects/{project_id}").get_json()
