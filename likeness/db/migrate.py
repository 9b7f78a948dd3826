"""Run Alembic migrations: ``python -m likeness.db.migrate [upgrade [REV] | downgrade REV]``.

Used by ``make run``, the Procfile's one-shot ``migrate`` and the tests.
"""

from __future__ import annotations

import sys

from alembic import command
from alembic.config import Config as AlembicConfig

from likeness.config import REPO_ROOT, load_config


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    # Alembic's config is an ini file underneath: a literal % must be doubled.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def main(argv: list[str]) -> int:
    url = load_config().database_url
    action = argv[0] if argv else "upgrade"
    if action == "upgrade":
        upgrade(url, argv[1] if len(argv) > 1 else "head")
    elif action == "downgrade" and len(argv) == 2:
        downgrade(url, argv[1])
    else:
        print("usage: python -m likeness.db.migrate [upgrade [REV] | downgrade REV]")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
