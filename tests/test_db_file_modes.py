"""The local SQLite database holds OAuth tokens and face encodings: its files are private
(0600) however permissive the umask, and a file made readable before is tightened."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from likeness.db.engine import engine_for_url
from likeness.db.migrate import upgrade


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_wal_files_are_private(tmp_path):
    path = tmp_path / "data" / "likeness.db"
    old_umask = os.umask(0o022)
    try:
        upgrade(f"sqlite:///{path}")
        engine = engine_for_url(f"sqlite:///{path}")
        with engine.connect() as conn:  # keep it open: the -wal and -shm files exist meanwhile
            conn.execute(text("INSERT INTO workers (id, hostname, pid, version, started_at, "
                              "heartbeat_at, state, images_done) VALUES ('w', 'h', 1, '', "
                              "'2026-01-01', '2026-01-01', 'idle', 0)"))
            conn.commit()
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert all(f.exists() for f in files)
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        engine.dispose()
    finally:
        os.umask(old_umask)
    assert _mode(path.parent) == 0o700


def test_a_database_readable_by_others_is_tightened(tmp_path):
    path = tmp_path / "likeness.db"
    path.touch()
    path.chmod(0o644)
    engine_for_url(f"sqlite:///{path}").dispose()
    assert _mode(path) == 0o600
