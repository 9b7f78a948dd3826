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
from sqlalchemy import Engine

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
        converter = rule._converters[arg].__class__.__name__
        if arg in ids:
            values[arg] = ids[arg]
        elif converter in ("IntegerConverter", "NumberConverter"):
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
