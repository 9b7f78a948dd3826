"""model_runs.n_uncertain, expected_left, expected_next; decisions via 'grid'

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Why: the classify and project pages say when further answers are unlikely to find more of the
person ("Done for now: 40 found, about 0-1 left"). Each model run stores how many faces it is
still unsure about, how many target faces it expects among those it does not propose, and
how many the next ten questions would find; the queue stops offering near-zero faces once that
is below one half. Faces confirmed many at a time in the
classify page's grid are recorded with via='grid'.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIA_OLD = 'classify | review | box | seed: the screen the answer came from'
VIA_NEW = 'classify | grid | review | box | seed: the screen the answer came from'


def upgrade() -> None:
    op.add_column('model_runs', sa.Column(
        'n_uncertain', sa.Integer(),
        comment='Unanswered faces the model is unsure about (between the two cut-offs)'))
    op.add_column('model_runs', sa.Column(
        'expected_left', sa.Float(),
        comment='Expected target faces among those not proposed (sum of their scores)'))
    op.add_column('model_runs', sa.Column(
        'expected_next', sa.Float(),
        comment='Expected target faces among the next ten questions (done below 0.5)'))
    _via_comment(VIA_NEW)


def downgrade() -> None:
    _via_comment(VIA_OLD)
    with op.batch_alter_table('model_runs', table_kwargs={'sqlite_autoincrement': True}) as b:
        b.drop_column('expected_next')
        b.drop_column('expected_left')
        b.drop_column('n_uncertain')


def _via_comment(comment: str) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        return  # SQLite keeps no column comments
    op.alter_column('decisions', 'via', existing_type=sa.String(12), existing_nullable=False,
                    comment=comment)
