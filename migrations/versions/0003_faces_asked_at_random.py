"""faces.asked_at_random

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Why: the queue mixes a share of random faces into what it asks, so that the precision estimate
shown to the owner can be checked without the bias of uncertainty sampling. That check needs
to know, for each answered face, whether it was asked as a random pick; model runs set this
flag on unanswered faces, and an answer freezes it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('faces', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'asked_at_random', sa.Boolean(), server_default=sa.false(), nullable=False,
            comment='Queued as one of the random picks when last unanswered (honest audit)'))


def downgrade() -> None:
    with op.batch_alter_table('faces', schema=None) as batch_op:
        batch_op.drop_column('asked_at_random')
