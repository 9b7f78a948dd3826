"""ids never reused, session generations, shared rate limits

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

Why: an outside security test found that on SQLite a deleted user's id went to the next new
user, and with it the old session cookie (which held only the id). SQLite reuses the highest
rowid unless a table is declared AUTOINCREMENT, which needs a table rebuild; MariaDB's
AUTO_INCREMENT never reuses ids, so nothing changes there. Every table with a surrogate id is
rebuilt, since reused ids are wrong everywhere (e.g. model_runs.last_decision_id).
users.session_generation lets logout end every session of a user on the server side, and
rate_limits holds the rate-limit buckets in the database, so that every web process counts
against the same limit.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables with a surrogate integer id, parents before children.
ID_TABLES = ('users', 'projects', 'invites', 'project_categories', 'images', 'model_runs',
             'faces', 'decisions', 'edits', 'jobs')


def _rebuild_on_sqlite(autoincrement: bool) -> None:
    # migrations/env.py turns foreign keys off on SQLite while migrating, so dropping the old
    # copy of a table cascades to nothing; it checks the keys again afterwards.
    if op.get_bind().dialect.name != 'sqlite':
        return
    for table in ID_TABLES:
        with op.batch_alter_table(table, recreate='always',
                                  table_kwargs={'sqlite_autoincrement': autoincrement}):
            pass


def upgrade() -> None:
    _rebuild_on_sqlite(True)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'session_generation', sa.Integer(), server_default='0', nullable=False,
            comment='Raised at logout: every session cookie carrying an older value is refused'))
    op.create_table('rate_limits',
    sa.Column('bucket', sa.String(length=120), nullable=False, comment='Limit group and who it counts: e.g. join:u12 (a user), login:a192.0.2.1'),
    sa.Column('tokens', sa.Double(), nullable=False, comment='Requests left in the bucket after the last one (token bucket)'),
    sa.Column('updated_at', sa.Double(), nullable=False, comment='Unix time of the last request counted (seconds)'),
    sa.Column('full_at', sa.Double(), nullable=False, comment='Unix time when the bucket is full again; later rows carry nothing'),
    sa.PrimaryKeyConstraint('bucket', name=op.f('pk_rate_limits')),
    comment='Rate-limit buckets, shared by every web process'
    )
    with op.batch_alter_table('rate_limits', schema=None) as batch_op:
        batch_op.create_index('ix_rate_limits_full_at', ['full_at'], unique=False)


def downgrade() -> None:
    op.drop_table('rate_limits')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
    _rebuild_on_sqlite(False)
