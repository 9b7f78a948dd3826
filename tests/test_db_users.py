import datetime as dt

from sqlalchemy import select

from likeness.config import load_config
from likeness.crypto import TokenCipher
from likeness.db import users
from likeness.db.schema import users as table
from likeness.db.schema import utcnow


def test_upsert_keeps_one_row_per_central_id_and_follows_renames(engine):
    with engine.begin() as conn:
        first = users.upsert(conn, 77, "Old name")
        again = users.upsert(conn, 77, "New name")
        assert first.id == again.id
        assert users.get(conn, first.id).username == "New name"


def test_tokens_are_encrypted_at_rest_and_round_trip(engine):
    cipher = TokenCipher.from_config(load_config(path="/absent", environ={"TOOL_SECRET_KEY": "k"}))
    expires = utcnow().replace(microsecond=0) + dt.timedelta(hours=4)
    with engine.begin() as conn:
        user = users.upsert(conn, 5, "Alice")
        users.store_tokens(conn, user.id, cipher, users.Tokens("acc-123", "ref-456", expires))
        raw = conn.execute(select(table.c.access_token, table.c.refresh_token)).one()
        assert b"acc-123" not in bytes(raw.access_token)
        assert b"ref-456" not in bytes(raw.refresh_token)
        tokens = users.load_tokens_for_update(conn, user.id, cipher)
    assert tokens == users.Tokens("acc-123", "ref-456", expires)
    assert tokens.expires_within(5 * 3600) and not tokens.expires_within(60)
    with engine.begin() as conn:
        users.clear_tokens(conn, user.id)
        assert users.load_tokens(conn, user.id, cipher) is None


def test_first_logins_of_one_person_at_once_make_one_row(engine):
    """Both transactions miss the row; the loser's insert fails and it updates the winner's."""
    from sqlalchemy import func

    if engine.dialect.name == "sqlite":
        import pytest

        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): the race cannot happen")
    import threading

    barrier = threading.Barrier(2)
    seen: list[int] = []

    def login(name: str) -> None:
        with engine.begin() as conn:
            barrier.wait()
            seen.append(users.upsert(conn, 4242, name).id)

    threads = [threading.Thread(target=login, args=(n,)) for n in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(seen) == 2 and seen[0] == seen[1]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar() == 1
