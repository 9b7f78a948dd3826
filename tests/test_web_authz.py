"""The authorization matrix: every route in app.url_map, as anonymous, non-member, labeller and
owner, checked against the rule its view declares (webapp.access: public, login_required,
member_required(), member_required("owner")). A route without a declared rule fails here.

Placeholders: ``project_id`` is a fresh project; ``user_id`` its labeller; ``invite_id`` one of
its invites; ``code`` a valid invite code; any other int argument is a missing id (999999) and
any other string "x". A route whose allowed answer depends on more setup still gets checked
for "not 401/403, not 5xx".
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, delete
from werkzeug.routing.converters import NumberConverter

from likeness.db import invites, members
from tests import factories
from tests.fixtures.web import csrf_headers, login

PERSONAS = ("anonymous", "outsider", "labeller", "owner")
ALLOWED = {
    "public": set(PERSONAS),
    "login": {"outsider", "labeller", "owner"},
    "member": {"labeller", "owner"},
    "owner": {"owner"},
    "admin": set(),  # no persona is named in app.admins (tests/test_web_admin.py checks admins)
}
NOT_A_VIEW = {"static"}
DENIAL_CODES = ("not_member", "wrong_role", "not_admin")
CLOSED = "http://127.0.0.1:9"  # nothing listens: wiki look-ups fail fast


@pytest.fixture
def matrix_app(make_app):
    return make_app(
        oauth={"client_id": "matrix-client", "client_secret": "matrix-secret"},
        wiki={"commons_api": f"{CLOSED}/w/api.php", "wikidata_api": f"{CLOSED}/w/api.php",
              "oauth_base": f"{CLOSED}/w/rest.php"},
    )


def _setup(engine: Engine) -> dict:
    with engine.begin() as conn:
        owner = factories.user(conn)
        labeller = factories.user(conn)
        outsider = factories.user(conn)
        # Members may send: sending is a member route whose answer also depends on this
        # setting (a labeller the owner did not allow is refused: tests/test_edits_web.py).
        project_id = factories.project(conn, owner, members_can_send=True)
        members.add(conn, project_id, labeller, "labeller")
        code, invite = invites.create(conn, project_id, owner)
    return {"owner": owner, "labeller": labeller, "outsider": outsider, "anonymous": None,
            "project_id": project_id, "user_id": labeller, "invite_id": invite.id, "code": code}


def _url(rule, ids: dict) -> str:
    values = {}
    for arg in rule.arguments:
        if arg in ids:
            values[arg] = ids[arg]
        elif isinstance(rule._converters[arg], NumberConverter):
            values[arg] = 999999
        elif arg == "qid":
            values[arg] = "Q42"
        else:
            values[arg] = "x"
    return rule.build(values, append_unknown=False)[1]


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_A_VIEW:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_declares_who_may_call_it(matrix_app):
    missing = [f"{method} {rule.rule} ({rule.endpoint})" for rule, method in _routes(matrix_app)
               if getattr(matrix_app.view_functions[rule.endpoint], "access", None) not in ALLOWED]
    assert not missing, "routes without @public/@login_required/@member_required: " + \
        ", ".join(missing)


def test_authorization_matrix(matrix_app, engine):
    checked = 0
    failures = []
    for rule, method in _routes(matrix_app):
        access = matrix_app.view_functions[rule.endpoint].access
        ids = _setup(engine)
        url = _url(rule, ids)
        api = url.startswith("/api/")
        for persona in PERSONAS:
            client = matrix_app.test_client()
            if ids[persona] is not None:
                login(client, ids[persona])
            kwargs = {"headers": csrf_headers(client)}
            if api and method != "GET":
                kwargs["json"] = {}
            response = client.open(url, method=method, **kwargs)
            status = response.status_code
            where = f"{method} {url} as {persona} ({access}): {status}"
            checked += 1
            if status >= 500 and status != 503:  # 503: the (closed) wiki did not answer
                failures.append(where + " server error")
            elif persona in ALLOWED[access]:
                if status in (401, 403) or (status == 400 and b"CSRF" in response.data):
                    failures.append(where + " refused though allowed")
            elif persona == "anonymous":
                if api and status != 401:
                    failures.append(where + " expected 401")
                if not api and not (status == 302 and
                                    response.headers["Location"].startswith("/login?next=")):
                    failures.append(where + " expected a redirect to /login")
            elif status != 403:
                failures.append(where + " expected 403")
            elif api and response.get_json()["error"]["code"] not in DENIAL_CODES:
                failures.append(where + " expected a JSON error")
    assert not failures, "\n".join(failures)
    assert checked >= 4 * 40


def test_missing_project_is_404_for_members_routes(matrix_app, engine):
    ids = _setup(engine)
    client = matrix_app.test_client()
    login(client, ids["owner"])
    assert client.get("/projects/999999").status_code == 404
    response = client.get("/api/projects/999999")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_login_redirect_keeps_a_safe_next(matrix_app, engine):
    ids = _setup(engine)
    response = matrix_app.test_client().get(f"/projects/{ids['project_id']}/members?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == (
        f"/login?next=%2Fprojects%2F{ids['project_id']}%2Fmembers%3Fx%3D1")


# --- other projects' ids inside requests -------------------------------------------------------

SECRET_PAGE = 777_000_111  # B's file: its title and thumbnail must never show up in A's answers
SECRET_THUMB = "http://upload.example/secret-b.jpg"


def _two_projects(engine: Engine) -> dict:
    """Project A (whose owner sends the requests) and project B (someone else's, full of
    things to find): faces, an image, a member, an invite, a written edit, and an answer that
    A's owner gave while a member of B, before being removed."""
    from likeness.db import decisions
    from likeness.db.schema import edits

    with engine.begin() as conn:
        a_owner = factories.user(conn)
        project_a = factories.project(conn, a_owner)
        a_image = factories.image(conn, project_a, status="done", thumb_width=800,
                                  thumb_height=600)
        factories.face(conn, project_a, a_image)
        b_owner, b_labeller = factories.user(conn), factories.user(conn)
        project_b = factories.project(conn, b_owner, qid="Q43", category="B")
        members.add(conn, project_b, b_labeller, "labeller")
        b_image = factories.image(conn, project_b, page_id=SECRET_PAGE, status="done",
                                  thumb_url=SECRET_THUMB, thumb_width=800, thumb_height=600)
        b_faces = [factories.face(conn, project_b, b_image) for _ in range(3)]
        decisions.record(conn, project_id=project_b, face_id=b_faces[0], user_id=a_owner,
                         answer="yes", client_token="b-token")
        code, invite = invites.create(conn, project_b, b_owner)
        conn.execute(edits.insert().values(
            page_id=SECRET_PAGE, qid="Q43", title=f"File:Example {SECRET_PAGE}.jpg",
            project_id=project_b, face_id=b_faces[0], user_id=b_owner, state="done",
            created_statement=True, statement_id="M777000111$X"))
    return {"a_owner": a_owner, "project_a": project_a, "project_b": project_b,
            "b_labeller": b_labeller, "b_image": b_image, "b_faces": b_faces,
            "b_invite": invite.id, "b_code": code}


def _empty(engine: Engine) -> None:
    from likeness.db.schema import metadata

    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))


def _snapshot(engine: Engine, project_id: int) -> dict:
    """Every row of the project, in every table that holds project rows."""
    from likeness.db.schema import metadata

    state = {}
    with engine.connect() as conn:
        for name, table in metadata.tables.items():
            column = table.c.id if name == "projects" else table.c.get("project_id")
            if column is not None:
                rows = conn.execute(table.select().where(column == project_id)
                                    .order_by(*table.primary_key.columns)).all()
                state[name] = [tuple(row) for row in rows]
    return state


def test_other_projects_ids_in_urls_and_bodies_change_and_reveal_nothing(matrix_app, engine):
    """As the owner of project A, call every route of A with project B's ids in the rest of
    the URL and in the body: B's rows stay exactly as they were, and no answer shows B's
    file, thumbnail or label."""
    checked = 0
    failures = []
    for rule, method in _routes(matrix_app):
        if "project_id" not in rule.arguments:
            continue
        ids = _two_projects(engine)
        b = ids["b_faces"]
        url = _url(rule, {"project_id": ids["project_a"], "user_id": ids["b_labeller"],
                          "invite_id": ids["b_invite"], "face_id": b[1],
                          "image_id": ids["b_image"], "code": ids["b_code"]})
        body = {"face_id": b[1], "image_id": ids["b_image"], "replaces": b[2], "held": b,
                "ids": b, "approve": [b[1]], "reject": [b[2]], "user_id": ids["b_labeller"],
                "invite_id": ids["b_invite"], "project_id": ids["project_b"], "answer": "no",
                "box": {"left": 0.5, "top": 0.5, "width": 0.2, "height": 0.2},
                "token": "b-token", "k": 5, "code": ids["b_code"], "confirm": "Q43"}
        before = _snapshot(engine, ids["project_b"])
        client = matrix_app.test_client()
        login(client, ids["a_owner"])
        headers = csrf_headers(client)
        if method == "GET":
            response = client.get(url, query_string={k: str(v) for k, v in body.items()
                                                     if not isinstance(v, list | dict)})
        elif url.startswith("/api/"):
            response = client.open(url, method=method, json=body, headers=headers)
        else:
            form = {k: str(v) for k, v in body.items() if not isinstance(v, list | dict)}
            response = client.open(url, method=method, headers=headers,
                                   data={**form, "csrf_token": headers["X-CSRF-Token"]})
        checked += 1
        where = f"{method} {url}: {response.status_code}"
        text = response.get_data(as_text=True)
        if response.status_code >= 500 and response.status_code != 503:
            failures.append(where + " server error")
        if str(SECRET_PAGE) in text or SECRET_THUMB in text:
            failures.append(where + " shows project B's file")
        if response.is_json and '"duplicate":true' in text.replace(" ", ""):
            failures.append(where + " answered with project B's recorded decision")
        if _snapshot(engine, ids["project_b"]) != before:
            failures.append(where + " changed project B")
        _empty(engine)
    assert not failures, "\n".join(failures)
    assert checked >= 30


def test_grid_pages_cannot_reach_another_projects_faces(matrix_app, engine):
    """The matrix above sends `confirm` as a Q-id (the delete form's field), which the grid
    refuses as malformed; here A's owner sends a well-formed grid page of B's faces to A's
    routes: refused as not found, B unchanged, and no answer names B's file."""
    ids = _two_projects(engine)
    b = ids["b_faces"]
    before = _snapshot(engine, ids["project_b"])
    client = matrix_app.test_client()
    login(client, ids["a_owner"])
    headers = csrf_headers(client)
    a = f"/api/projects/{ids['project_a']}"
    page = client.post(f"{a}/grid", json={"confirm": [b[1]], "reject": [b[2]], "token": "b"},
                       headers=headers)
    assert page.status_code == 404 and page.get_json()["error"]["code"] == "no_face"
    offered = client.post(f"{a}/grid/next", json={"k": 20, "min": 1, "held": b},
                          headers=headers)
    assert offered.status_code == 200
    assert not {f["id"] for f in offered.get_json()["faces"]} & set(b)
    # An undo in A never takes back A's owner's old answer in B.
    undo = client.post(f"{a}/undo", json={"token": "u-b"}, headers=headers)
    assert undo.status_code == 200 and undo.get_json()["undone"] is None
    for response in (page, offered, undo):
        text = response.get_data(as_text=True)
        assert str(SECRET_PAGE) not in text and SECRET_THUMB not in text
    assert _snapshot(engine, ids["project_b"]) == before
