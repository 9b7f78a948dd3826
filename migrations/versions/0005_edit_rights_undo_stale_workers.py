"""users' edit rights, edits undone by batch, workers' staleness

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-30

Why: a blocked account, or one whose login lacks the editing grant, is told at login and before
labelling (users.edit_rights, checked against Commons' userinfo); an undone edit is offered
again only after a human confirms its face anew (edits.undo_decision_id); a project's page
lists every edit its faces back, whichever project queued it (ix_edits_qid_state); a dead
worker's claims are free as soon as its heartbeat is stale (workers.stale_seconds). Undo is
queued by the web app at once now, so no job kind handles the old undo_edits jobs: they go.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
KIND_COMMENT = 'A likeness.db.jobs.JobKind: crawl | seed | train | encode_box'
OLD_KIND_COMMENT = 'crawl | encode_box | train | send_edits | undo_edits | seed | ...'
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'edit_rights', sa.String(length=16), nullable=True,
            comment='Commons at the last check: ok | blocked | no_grant; NULL = not checked'))
        batch_op.add_column(sa.Column(
            'edit_rights_note', sa.String(length=500), nullable=True,
            comment='Why the account cannot edit: block reason and expiry, or the missing right'))
        batch_op.add_column(sa.Column(
            'rights_checked_at', sa.DateTime(), nullable=True,
            comment='When Commons was last asked (UTC)'))
    with op.batch_alter_table('edits', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'undo_decision_id', sa.Integer(), nullable=True,
            comment='Newest decision when Undo took it back; only a later human yes re-offers it'))
        batch_op.create_index('ix_edits_qid_state', ['qid', 'state'], unique=False)
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'stale_seconds', sa.Integer(), server_default='30', nullable=False,
            comment='Silence after which this worker counts as dead and its claims are free'))
        batch_op.alter_column(
            'heartbeat_at', existing_type=sa.DateTime(), existing_nullable=False,
            comment="Last sign of life; a stale worker's claims are free (likeness.db.claims)",
            existing_comment="Last sign of life; stale workers' claims are reclaimed via lease "
                             "expiry")
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=32), existing_nullable=False,
                              comment=KIND_COMMENT, existing_comment=OLD_KIND_COMMENT)
    op.execute("DELETE FROM jobs WHERE kind IN ('undo_edits', 'send_edits')")


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=32), existing_nullable=False,
                              comment=OLD_KIND_COMMENT, existing_comment=KIND_COMMENT)
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.alter_column(
            'heartbeat_at', existing_type=sa.DateTime(), existing_nullable=False,
            comment="Last sign of life; stale workers' claims are reclaimed via lease expiry",
            existing_comment="Last sign of life; a stale worker's claims are free "
                             "(likeness.db.claims)")
        batch_op.drop_column('stale_seconds')
    with op.batch_alter_table('edits', schema=None) as batch_op:
        batch_op.drop_index('ix_edits_qid_state')
        batch_op.drop_column('undo_decision_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('rights_checked_at')
        batch_op.drop_column('edit_rights_note')
        batch_op.drop_column('edit_rights')
