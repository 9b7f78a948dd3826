"""CSRF round trips, security headers, cookies, safe redirects, size and rate limits, and no
inline script or style anywhere in the templates (the CSP forbids them)."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from likeness.config import REPO_ROOT
from tests import factories
from tests.fixtures.web import ORIGIN, csrf_form, csrf_headers, login
from webapp.security import LIMITS, Limit, RateLimiter, content_security_policy, safe_next

META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
HIDDEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def user_client(web_app, engine):
    with engine.begin() as conn:
        user = factories.user(conn, "Careful User")
        project_id = factories.project(conn, user)
    client = web_app.test_client()
    login(client, user)
    client.project_id = project_id
    return client


def test_form_round_trip_uses_the_token_from_the_page(user_client):
    page = user_client.get(f"/projects/{user_client.project_id}/settings").get_data(as_text=True)
    token = HIDDEN.search(page).group(1)
    assert META.search(page).group(1) == token
    url = f"/projects/{user_client.project_id}/settings"
    assert user_client.post(url, data={"depth": "2"}).status_code == 400
    assert user_client.post(url, data={"depth": "2", "csrf_token": "x" * 43}).status_code == 400
    assert user_client.post(url, data={"depth": "2", "csrf_token": token}).status_code == 302


def test_json_round_trip_uses_the_header(user_client):
    page = user_client.get("/").get_data(as_text=True)
    token = META.search(page).group(1)
    url = f"/api/projects/{user_client.project_id}"
    missing = user_client.patch(url, json={"depth": 2})
    assert missing.status_code == 400 and missing.get_json()["error"]["code"] == "csrf"
    # A token in a JSON body does not count: only the header does.
    assert user_client.patch(url, json={"depth": 2, "csrf_token": token}).status_code == 400
    ok = user_client.patch(url, json={"depth": 2}, headers={"X-CSRF-Token": token})
    assert ok.status_code == 200 and ok.get_json()["project"]["depth"] == 2


def test_cross_site_requests_are_refused_even_with_a_token(user_client):
    headers = csrf_headers(user_client)
    url = f"/api/projects/{user_client.project_id}"
    for bad in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                {"Origin": None, "Referer": "https://evil.example/page"},
                {"Origin": "http://localhost.evil.example"}):
        sent = {k: v for k, v in {**headers, **bad}.items() if v is not None}
        response = user_client.patch(url, json={"depth": 3}, headers=sent)
        assert response.status_code == 403, bad
        assert response.get_json()["error"]["code"] == "cross_origin"
    same = user_client.patch(url, json={"depth": 3},
                             headers={**headers, "Referer": ORIGIN + "/x"})
    assert same.status_code == 200


def test_logout_and_locale_need_csrf_too(user_client):
    assert user_client.post("/locale", data={"lang": "de"}).status_code == 400
    assert user_client.post("/logout").status_code == 400
    assert user_client.get("/api/me").get_json()["user"] is not None


def test_headers_on_every_kind_of_answer(user_client):
    for url in ("/", "/api/me", "/does-not-exist", "/api/does-not-exist",
                f"/projects/{user_client.project_id}"):
        response = user_client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp, url
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "img-src 'self' data: blob: https://upload.wikimedia.org" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
    assert user_client.get("/api/does-not-exist").get_json()["error"]["code"] == "not_found"


def test_csp_uses_the_configured_upload_host():
    assert "img-src 'self' data: blob: http://127.0.0.1:8123;" in content_security_policy(
        "http://127.0.0.1:8123/upload")


def test_session_cookie_is_secure_and_httponly(make_app, engine):
    app = make_app(secure_cookies=True)
    client = app.test_client()
    response = client.get("/", base_url="https://localhost")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example",
    "/\\/evil.example", "javascript:alert(1)", "/ok\nLocation: x", "/x\x00", "http:/x",
    "", None, "evil.example", "  //evil.example", "/" + "x" * 2001,
])
def test_safe_next_rejects_other_sites(target):
    assert safe_next(target) == "/"


def test_safe_next_keeps_local_paths():
    assert safe_next("/projects/3/label?x=1#y") == "/projects/3/label?x=1#y"
    # Percent-encoded controls stay encoded: the redirect header cannot be split by them.
    assert safe_next("/%0d%0aSet-Cookie:x") == "/%0d%0aSet-Cookie:x"


def test_login_next_goes_through_safe_next(make_app, engine):
    app = make_app(oauth={"owner_only_token": "t"})
    page = app.test_client().get("/login", query_string={"next": "/\\evil.example"})
    assert 'name="next" value="/"' in page.get_data(as_text=True)


def test_size_limits(user_client):
    assert user_client.get("/api/me?x=" + "a" * 5000).status_code == 414
    big = user_client.post("/api/join", data=b"{" + b" " * 1_100_000 + b"}",
                           headers={**csrf_headers(user_client),
                                    "Content-Type": "application/json"})
    assert big.status_code == 413 and big.get_json()["error"]["code"] == "too_large"
    long_search = user_client.get("/api/items/search", query_string={"q": "x" * 300})
    assert long_search.status_code == 400


def test_a_fast_labeller_is_never_slowed(engine):
    limiter = RateLimiter(LIMITS, engine)
    # Ten answers a second for 20 s (each an answer plus the next question), then a burst of
    # 30 answers flushed at once from the outbox.
    waits = [limiter.hit(group, "u1", now=t / 10) for t in range(200)
             for group in ("label", "label", "default", "default")]
    waits += [limiter.hit(group, "u1", now=20 + i * 0.001) for i in range(30)
              for group in ("label", "default")]
    assert max(waits) == 0.0


def test_rate_limited_answers_say_when_to_retry(engine):
    limiter = RateLimiter(LIMITS, engine)
    for _ in range(5):
        assert limiter.hit("join", "u2", now=0.0) == 0.0
    assert limiter.hit("join", "u2", now=0.0) == pytest.approx(30.0)
    assert limiter.hit("join", "u2", now=15.0) == pytest.approx(15.0)
    assert limiter.hit("join", "u2", now=30.0) == 0.0  # one token back after 30 s
    assert limiter.hit("join", "u3", now=0.0) == 0.0  # buckets are per person


def test_rate_limits_are_shared_by_every_process(make_app, engine):
    """Two apps with their own engines stand for two gunicorn workers: together they allow
    exactly the burst of invite-code guesses, not twice as many."""
    with engine.begin() as conn:
        user = factories.user(conn)
    apps = [make_app(), make_app()]
    clients = [app.test_client() for app in apps]
    for client in clients:
        login(client, user)
    answers = [clients[i % 2].post("/api/join", json={"code": f"guess-{i}"},
                                   headers=csrf_headers(clients[i % 2])).status_code
               for i in range(int(LIMITS["join"].burst) + 1)]
    assert answers == [404] * 5 + [429]


def test_leased_tokens_never_add_up_to_more_than_the_bucket(engine):
    """Processes take generous limits' tokens a few at a time; together they still get
    exactly the bucket, and writes stay few."""
    from sqlalchemy import event

    statements = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "rate_limits" in statement:
            statements.append(statement)

    limiters = [RateLimiter(LIMITS, engine), RateLimiter(LIMITS, engine)]
    burst, lease = int(LIMITS["default"].burst), LIMITS["default"].lease
    assert lease > 1
    event.listen(engine, "before_cursor_execute", count)
    try:
        allowed = sum(limiters[i % 2].hit("default", "u5", now=50.0) == 0.0
                      for i in range(burst + 100))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert allowed == burst
    assert len(statements) < 2 * burst // lease + 10


def test_bucket_takes_are_atomic_across_connections(engine, session_engine):
    """Twenty takes from two threads at once, each on its own connection: exactly the burst
    goes through."""
    from likeness.db.engine import engine_for_url

    engines = [session_engine, engine_for_url(str(session_engine.url.render_as_string(
        hide_password=False)))]
    limiter = [RateLimiter(LIMITS, e) for e in engines]
    barrier = threading.Barrier(2)
    allowed = []

    def guess(i: int) -> None:
        barrier.wait()
        allowed.extend(limiter[i].hit("join", "u9", now=100.0) == 0.0 for _ in range(10))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    engines[1].dispose()
    assert sum(allowed) == LIMITS["join"].burst and len(allowed) == 20


def test_takes_inserts_and_pruning_at_once_never_deadlock(engine):
    """Six processes at once, each creating buckets and updating one they share, while every
    bucket keeps going stale and each process prunes: MariaDB deadlocked here while pruning
    shared a transaction with a take, or deleted through the full_at index."""
    import itertools
    import time

    from likeness.db.engine import engine_for_url

    url = engine.url.render_as_string(hide_password=False)
    engines = [engine_for_url(url) for _ in range(6)]
    names = itertools.count()
    start, errors = time.time(), []
    barrier = threading.Barrier(len(engines))

    def run(own_engine) -> None:
        limiter = RateLimiter(LIMITS, own_engine)
        barrier.wait()
        try:
            for n in range(40):
                now = start + n * 200.0  # every join bucket is full again by the next round
                limiter.hit("join", "shared", now=now)
                limiter.hit("join", f"new{next(names)}", now=now)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for own_engine in engines:
        own_engine.dispose()
    assert not errors, errors[:3]


def test_refilled_buckets_are_pruned(engine):
    from sqlalchemy import select

    from likeness.db.schema import rate_limits

    limiter = RateLimiter(LIMITS, engine)
    limiter.hit("join", "early", now=0.0)  # full again at 30 s
    limiter.hit("join", "late", now=100.0)  # a minute later: prunes
    with engine.connect() as conn:
        assert conn.execute(select(rate_limits.c.bucket)).scalars().all() == ["join:late"]


def test_forwarded_for_does_not_rotate_anonymous_buckets(make_app, engine):
    app = make_app(oauth={"owner_only_token": "t"})
    client = app.test_client()
    statuses = [client.post("/login/owner", data=csrf_form(client),
                            headers={"X-Forwarded-For": f"198.51.100.{i}"},
                            environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code
                for i in range(int(LIMITS["login"].burst) + 1)]
    assert statuses == [403] * int(LIMITS["login"].burst) + [429]
    # Behind a trusted proxy, its hop names the client: another client has its own bucket.
    proxied = make_app(oauth={"owner_only_token": "t"}, app={"proxy_hops": 1}).test_client()
    response = proxied.post("/login/owner", data=csrf_form(proxied),
                            headers={"X-Forwarded-For": "198.51.100.77"},
                            environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert response.status_code == 403


# Data blocks (<script type="application/json">, filled with |tojson) never run: allowed.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>",
                           re.IGNORECASE)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.IGNORECASE)
STYLE_TAG = re.compile(r"<style\b", re.IGNORECASE)
HANDLER_ATTR = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"javascript:", re.IGNORECASE)


def test_no_template_has_inline_script_or_style():
    offenders = []
    for path in sorted(Path(REPO_ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for name, pattern in (("inline script", INLINE_SCRIPT), ("style attribute", STYLE_ATTR),
                              ("style element", STYLE_TAG), ("event handler", HANDLER_ATTR),
                              ("javascript: URL", JS_URL)):
            if pattern.search(text):
                offenders.append(f"{path.relative_to(REPO_ROOT)}: {name}")
    assert not offenders, offenders


def test_session_cookie_stays_small_after_long_use(web_app, engine):
    with engine.begin() as conn:
        user = factories.user(conn, "Ü" * 80)
        project_ids = [factories.project(conn, user, category=f"C{i}") for i in range(30)]
    client = web_app.test_client()
    login(client, user)
    headers = csrf_headers(client)
    for round_ in range(20):
        for project_id in project_ids:
            client.get(f"/projects/{project_id}")
            client.patch(f"/api/projects/{project_id}", json={"depth": round_ % 5},
                         headers=headers)
        client.post("/locale", data={"lang": "de" if round_ % 2 else "en",
                                     "next": "/" + "x" * 1500, "csrf_token":
                                     headers["X-CSRF-Token"]})
        client.post("/join", data={"code": "nope", "csrf_token": headers["X-CSRF-Token"]})
        client.post(f"/projects/{project_ids[0]}/status",
                    data={"action": "pause", "csrf_token": headers["X-CSRF-Token"]})
        client.get("/login?next=/" + "y" * 1900)
    cookie = client.get_cookie("session")
    assert cookie is not None and len(cookie.value) < 1024
    assert len(cookie.key) + len(cookie.value) < 4096


def test_activity_is_recorded_once_a_day(user_client, engine):
    from sqlalchemy import select, update

    from likeness.db.schema import users

    with engine.begin() as conn:
        conn.execute(update(users).values(last_seen_at=None))
    user_client.get("/")
    with engine.connect() as conn:
        first = conn.execute(select(users.c.last_seen_at)).scalar()
    user_client.get("/")
    with engine.connect() as conn:
        assert first is not None
        assert conn.execute(select(users.c.last_seen_at)).scalar() == first


def test_threads_that_lease_at_once_spend_every_token_they_took(engine):
    """Threads of one process miss the local lease together and each take a lease from the
    database; one that finds the bucket empty uses the tokens the others took instead of
    refusing the request (it was: six simultaneous logins from one address got a 429)."""
    limiter = RateLimiter({"g": Limit(rate=1e-6, burst=20.0, lease=10)}, engine)
    start = threading.Barrier(3)

    def one() -> float:
        start.wait()
        return limiter.hit("g", "a1", now=100.0)

    with ThreadPoolExecutor(3) as pool:
        first = list(pool.map(lambda _: one(), range(3)))
    rest = [limiter.hit("g", "a1", now=100.0) for _ in range(20)]
    assert first == [0.0] * 3
    assert rest.count(0.0) == 17 and all(wait > 0 for wait in rest[17:])  # 20 in all, not 30
