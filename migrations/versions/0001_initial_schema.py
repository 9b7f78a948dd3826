"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Why: the whole data model for the mission, laid down at once so that later work extends it
instead of rewriting it: users and their encrypted OAuth tokens; projects, members and invite
codes; the crawled category tree, images and faces (boxes as fractions, encodings as float32);
the append-only decision history; model runs; exactly-once edits to Commons; and the job queue
and worker heartbeats that coordinate web and worker. Every column carries its comment here and
in the database; likeness/db/schema.py says which query each index serves.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False, comment='Local user id'),
    sa.Column('wiki_user_id', sa.BigInteger(), nullable=False, comment="Wikimedia central user id (OAuth 2.0 profile 'sub')"),
    sa.Column('username', sa.String(length=255), nullable=False, comment='Wikimedia user name'),
    sa.Column('access_token', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mariadb').with_variant(mysql.LONGBLOB(), 'mysql'), nullable=True, comment='OAuth 2.0 access token, Fernet-encrypted'),
    sa.Column('refresh_token', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mariadb').with_variant(mysql.LONGBLOB(), 'mysql'), nullable=True, comment='OAuth 2.0 refresh token, Fernet-encrypted; rotates on every refresh'),
    sa.Column('token_expires_at', sa.DateTime(), nullable=True, comment='Access token expiry (UTC)'),
    sa.Column('created_at', sa.DateTime(), nullable=False, comment='When the row was created (UTC)'),
    sa.Column('last_seen_at', sa.DateTime(), nullable=True, comment='Last request by this user (retention policy)'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('wiki_user_id', name=op.f('uq_users_wiki_user_id')),
    comment='People who logged in with their Wikimedia account'
    )
    op.create_table('workers',
    sa.Column('id', sa.String(length=64), nullable=False, comment='host:pid:random, unique per process'),
    sa.Column('hostname', sa.String(length=255), nullable=False, comment='Host (Kubernetes pod) name'),
    sa.Column('pid', sa.Integer(), nullable=False, comment='Process id'),
    sa.Column('version', sa.String(length=32), nullable=False, comment='Tool version'),
    sa.Column('started_at', sa.DateTime(), nullable=False, comment='Process start'),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=False, comment="Last sign of life; stale workers' claims are reclaimed via lease expiry"),
    sa.Column('state', sa.String(length=16), nullable=False, comment='starting | idle | busy | stopping | stopped'),
    sa.Column('current', sa.String(length=255), nullable=True, comment='What it is doing now, for the status page'),
    sa.Column('images_done', sa.Integer(), nullable=False, comment='Images processed'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workers')),
    comment='One heartbeat row per worker process'
    )
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.create_index('ix_workers_heartbeat', ['heartbeat_at'], unique=False)

    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False, comment='Project id, used in URLs'),
    sa.Column('owner_id', sa.Integer(), nullable=False, comment='The user who created the project'),
    sa.Column('qid', sa.String(length=20), nullable=False, comment='Wikidata item of the person, e.g. Q42'),
    sa.Column('label', sa.String(length=400), nullable=False, comment='Item label when the project was made'),
    sa.Column('description', sa.String(length=1000), nullable=False, comment='Item description when the project was made'),
    sa.Column('reference_file', sa.String(length=255), nullable=True, comment='P18 file title of the item (reference photo shown while labelling)'),
    sa.Column('category', sa.String(length=255), nullable=False, comment="Commons category title, without the 'Category:' prefix"),
    sa.Column('depth', sa.SmallInteger(), nullable=False, comment='How many subcategory levels below the category are crawled'),
    sa.Column('threshold', sa.Float(), nullable=True, comment="Owner's score threshold for proposals; NULL uses the calibrated one"),
    sa.Column('status', sa.String(length=16), nullable=False, comment='active | paused (worker leaves it alone) | archived (read-only)'),
    sa.Column('share_knowledge', sa.Boolean(), nullable=False, comment='Opt-in: confirmed faces help other opted-in projects on the same Q-id'),
    sa.Column('seed_outside_tree', sa.Boolean(), nullable=False, comment='Opt-in: seed from files with P180=qid outside the category tree'),
    sa.Column('add_region_to_existing', sa.Boolean(), nullable=False, comment='Add a P2677 region to an existing P180=qid statement that has none'),
    sa.Column('members_can_send', sa.Boolean(), nullable=False, comment='Labellers (not only the owner) may send edits to Commons'),
    sa.Column('next_crawl_at', sa.DateTime(), nullable=True, comment='When the worker should next (re)crawl; NULL = not scheduled'),
    sa.Column('last_crawled_at', sa.DateTime(), nullable=True, comment='When the last crawl finished'),
    sa.Column('last_activity_at', sa.DateTime(), nullable=True, comment='Last answer or setting change (retention)'),
    sa.Column('created_at', sa.DateTime(), nullable=False, comment='When the row was created (UTC)'),
    sa.CheckConstraint("status IN ('active','paused','archived')", name=op.f('ck_projects_status')),
    sa.CheckConstraint('depth >= 0 AND depth <= 10', name=op.f('ck_projects_depth')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_projects_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    comment='One person (Q-id) to find in one Commons category tree'
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index('ix_projects_status_next_crawl', ['status', 'next_crawl_at'], unique=False)

    op.create_table('images',
    sa.Column('id', sa.Integer(), nullable=False, comment='Image id'),
    sa.Column('project_id', sa.Integer(), nullable=False, comment='Project the file was found for'),
    sa.Column('page_id', sa.BigInteger(), nullable=False, comment='Commons page id (MediaInfo M<id>)'),
    sa.Column('title', sa.String(length=255), nullable=False, comment="File title with the 'File:' prefix"),
    sa.Column('origin', sa.String(length=16), nullable=False, comment="category (crawled) | reference (the item's P18) | depicts (P180 search)"),
    sa.Column('status', sa.String(length=16), nullable=False, comment='pending | done | failed (gave up after retries) | skipped (not a photo)'),
    sa.Column('attempts', sa.SmallInteger(), nullable=False, comment='Processing attempts so far'),
    sa.Column('error_kind', sa.String(length=32), nullable=True, comment='Short code of the last error, e.g. truncated'),
    sa.Column('last_error', sa.String(length=500), nullable=True, comment='Last error, readable'),
    sa.Column('next_try_at', sa.DateTime(), nullable=True, comment='Not before this time (backoff); NULL = now'),
    sa.Column('lease_owner', sa.String(length=64), nullable=True, comment='Worker id holding the claim, NULL if free'),
    sa.Column('lease_until', sa.DateTime(), nullable=True, comment='Claim expiry (UTC); an expired claim may be taken by any worker'),
    sa.Column('width', sa.Integer(), nullable=True, comment='Original width in pixels'),
    sa.Column('height', sa.Integer(), nullable=True, comment='Original height in pixels'),
    sa.Column('mime', sa.String(length=100), nullable=True, comment='MIME type of the original'),
    sa.Column('thumb_url', sa.String(length=2000), nullable=True, comment='Thumbnail URL the faces were found on'),
    sa.Column('thumb_width', sa.Integer(), nullable=True, comment='Width of the thumbnail used for detection'),
    sa.Column('thumb_height', sa.Integer(), nullable=True, comment='Height of the thumbnail used for detection'),
    sa.Column('faces_found', sa.SmallInteger(), nullable=True, comment='Faces the detector found'),
    sa.Column('processed_at', sa.DateTime(), nullable=True, comment='When detection finished'),
    sa.Column('created_at', sa.DateTime(), nullable=False, comment='When the row was created (UTC)'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_images_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_images')),
    sa.UniqueConstraint('project_id', 'page_id', name=op.f('uq_images_project_id_page_id')),
    comment='Files of a project and their processing state'
    )
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.create_index('ix_images_project_status', ['project_id', 'status'], unique=False)
        batch_op.create_index('ix_images_status_next_try', ['status', 'next_try_at'], unique=False)

    op.create_table('invites',
    sa.Column('id', sa.Integer(), nullable=False, comment='Invite id'),
    sa.Column('project_id', sa.Integer(), nullable=False, comment='Project the code lets people join'),
    sa.Column('code_hash', sa.String(length=64), nullable=False, comment='SHA-256 hex of the code; the code itself is shown once and never stored'),
    sa.Column('code_hint', sa.String(length=8), nullable=False, comment='First characters, to tell codes apart'),
    sa.Column('role', sa.String(length=16), nullable=False, comment='Role granted'),
    sa.Column('created_by', sa.Integer(), nullable=True, comment='Who created the code'),
    sa.Column('created_at', sa.DateTime(), nullable=False, comment='When the row was created (UTC)'),
    sa.Column('expires_at', sa.DateTime(), nullable=True, comment='Code refused after this time; NULL = no expiry'),
    sa.Column('uses_left', sa.Integer(), nullable=True, comment='Joins still allowed; NULL = unlimited'),
    sa.Column('revoked_at', sa.DateTime(), nullable=True, comment='When the owner revoked it; NULL = active'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_invites_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_invites_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invites')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_invites_code_hash')),
    comment='Invite codes for sharing a project'
    )
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.create_index('ix_invites_project', ['project_id'], unique=False)

    op.create_table('model_runs',
    sa.Column('id', sa.Integer(), nullable=False, comment='Model run id'),
    sa.Column('project_id', sa.Integer(), nullable=False, comment='Project trained'),
    sa.Column('last_decision_id', sa.Integer(), nullable=False, comment='Newest decision the run saw; newer ones trigger retraining'),
    sa.Column('n_positive', sa.Integer(), nullable=False, comment='Human positives used'),
    sa.Column('n_negative', sa.Integer(), nullable=False, comment='Human negatives used'),
    sa.Column('n_shared', sa.Integer(), nullable=False, comment='Positives borrowed from other opted-in projects on the same Q-id'),
    sa.Column('threshold', sa.Float(), nullable=True, comment='Calibrated score threshold'),
    sa.Column('precision_estimate', sa.Float(), nullable=True, comment='Estimated precision of proposals'),
    sa.Column('recall_estimate', sa.Float(), nullable=True, comment='Estimated recall of proposals'),
    sa.Column('params', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mariadb').with_variant(mysql.LONGBLOB(), 'mysql'), nullable=True, comment='Serialised model (contains encodings: biometric data)'),
    sa.Column('duration_ms', sa.Integer(), nullable=True, comment='Training and scoring time'),
    sa.Column('created_at', sa.DateTime(), nullable=False, comment='When the row was created (UTC)'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_model_runs_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_runs')),
    comment="Each training of a project's model on its human answers"
    )
    with op.batch_alter_table('model_runs', schema=None) as batch_op:
        batch_op.create_index('ix_model_runs_project', ['project_id', 'id'], unique=False)

    op.create_table('project_categories',
    sa.Column('id', sa.Integer(), nullable=False, comment='Row id'),
    sa.Column('project_id', sa.Integer(), nullable=False, comment='Project whose tree holds the category'),
    sa.Column('title', sa.String(length=255), nullable=False, comment='Category title without prefix'),
    sa.Column('depth', sa.SmallInteger(), nullable=False, comment="Distance from the project's root category (root = 0)"),
    sa.Column('last_crawled_at', sa.DateTime(), nullable=True, comment='Start of the last listing; the next one asks only for newer members'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_categories_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_categories')),
    sa.UniqueConstraint('project_id', 'title', name=op.f('uq_project_categories_project_id_title')),
    comment='The category tree of a project as crawled, for incremental re-crawls'
    )
    op.create_table('faces',
    sa.Column('id', sa.Integer(), nullable=False, comment='Face id'),
    sa.Column('project_id', sa.Integer(), nullable=False, comment='Project (copied from the image for the hot queries)'),
    sa.Column('image_id', sa.Integer(), nullable=False, comment='Image the face is on'),
    sa.Column('box_left', sa.Float(), nullable=False, comment='Left edge, fraction of image width'),
    sa.Column('box_top', sa.Float(), nullable=False, comment='Top edge, fraction of image height'),
    sa.Column('box_width', sa.Float(), nullable=False, comment='Width, fraction of image width'),
    sa.Column('box_height', sa.Float(), nullable=False, comment='Height, fraction of image height'),
    sa.Column('encoding', sa.LargeBinary(length=512), nullable=True, comment='128 float32 little-endian (512 bytes); NULL while a drawn box waits'),
    sa.Column('source', sa.String(length=16), nullable=False, comment='detector | manual (drawn by a person) | seed (provisional positive)'),
    sa.Column('state', sa.String(length=16), nullable=False, comment='active | encoding (drawn box queued) | replaced (box edited) | error'),
    sa.Column('created_by', sa.Integer(), nullable=True, comment='Who drew the box (manual faces)'),
    sa.Column('label', sa.String(length=12), nullable=True, comment='Current human label derived from decisions: yes | no | not_face | NULL'),
    sa.Column('labelled_at', sa.DateTime(), nullable=True, comment='When the current label was set'),
    sa.Column('score', sa.Float(), nullable=True, comment='Latest model score in [0, 1]; NULL before any model'),
    sa.Column('model_run_id', sa.Integer(), nullable=True, comment='Model run that computed score and priority'),
    sa.Column('priority', sa.Float(), nullable=True, comment='Queue order for asking (lower first), set by the model run'),
    sa.Column('reserved_by', sa.Integer(), nullable=True, comment='User this face is being shown to, so nobody else gets it meanwhile'),
    sa.Column('reserved_until', sa.DateTime(), nullable=True, comment='Reservation expiry (UTC)'),
    sa.Column('created_at', sa.DateTime(), nullable=False, comment='When the row was created (UTC)'),
    sa.CheckConstraint("label IS NULL OR label IN ('yes','no','not_face')", name=op.f('ck_faces_label')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_faces_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], name=op.f('fk_faces_image_id_images'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_run_id'], ['model_runs.id'], name=op.f('fk_faces_model_run_id_model_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_faces_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reserved_by'], ['users.id'], name=op.f('fk_faces_reserved_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faces')),
    comment='Faces found or drawn on images; encodings are biometric data (see retention)'
    )
    with op.batch_alter_table('faces', schema=None) as batch_op:
        batch_op.create_index('ix_faces_image', ['image_id'], unique=False)
        batch_op.create_index('ix_faces_project_score', ['project_id', 'label', 'score'], unique=False)
        batch_op.create_index('ix_faces_queue', ['project_id', 'label', 'priority'], unique=False)

    op.create_table('project_members',
    sa.Column('project_id', sa.Integer(), nullable=False, comment='The project'),
    sa.Column('user_id', sa.Integer(), nullable=False, comment='The member'),
    sa.Column('role', sa.String(length=16), nullable=False, comment='owner | labeller'),
    sa.Column('invite_id', sa.Integer(), nullable=True, comment='Invite code used to join, if any'),
    sa.Column('joined_at', sa.DateTime(), nullable=False, comment='When they joined'),
    sa.CheckConstraint("role IN ('owner','labeller')", name=op.f('ck_project_members_role')),
    sa.ForeignKeyConstraint(['invite_id'], ['invites.id'], name=op.f('fk_project_members_invite_id_invites'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_members_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_project_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'user_id', name=op.f('pk_project_members')),
    comment='Who may see and label a project, and with which role'
    )
    with op.batch_alter_table('project_members', schema=None) as batch_op:
        batch_op.create_index('ix_project_members_user', ['user_id'], unique=False)

    op.create_table('decisions',
    sa.Column('id', sa.Integer(), nullable=False, comment='Decision id, increasing in time'),
    sa.Column('project_id', sa.Integer(), nullable=False, comment='Project (copied from the face)'),
    sa.Column('face_id', sa.Integer(), nullable=False, comment='Face the answer is about'),
    sa.Column('user_id', sa.Integer(), nullable=False, comment='Who answered'),
    sa.Column('answer', sa.String(length=12), nullable=False, comment='yes | no | not_face | skip | approve | reject | undo'),
    sa.Column('undoes_id', sa.Integer(), nullable=True, comment='For answer=undo: the decision it takes back'),
    sa.Column('via', sa.String(length=12), nullable=False, comment='classify | review | box | seed: the screen the answer came from'),
    sa.Column('created_at', sa.DateTime(), nullable=False, comment='When the row was created (UTC)'),
    sa.CheckConstraint("answer IN ('yes','no','not_face','skip','approve','reject','undo')", name=op.f('ck_decisions_answer')),
    sa.ForeignKeyConstraint(['face_id'], ['faces.id'], name=op.f('fk_decisions_face_id_faces'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_decisions_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['undoes_id'], ['decisions.id'], name=op.f('fk_decisions_undoes_id_decisions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_decisions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions')),
    comment="Every human answer, append-only; a face's label is derived from its latest ones"
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_index('ix_decisions_face', ['face_id', 'id'], unique=False)
        batch_op.create_index('ix_decisions_project_user', ['project_id', 'user_id', 'face_id'], unique=False)
        batch_op.create_index('ix_decisions_user_project', ['user_id', 'project_id', 'id'], unique=False)

    op.create_table('edits',
    sa.Column('id', sa.Integer(), nullable=False, comment='Edit id'),
    sa.Column('page_id', sa.BigInteger(), nullable=False, comment='Commons page id (entity M<page_id>)'),
    sa.Column('qid', sa.String(length=20), nullable=False, comment='Depicted item'),
    sa.Column('title', sa.String(length=255), nullable=False, comment='File title, for links and summaries'),
    sa.Column('project_id', sa.Integer(), nullable=True, comment='Project that asked for it (kept NULL after deletion: the edit is public)'),
    sa.Column('face_id', sa.Integer(), nullable=True, comment='The confirmed face behind the statement'),
    sa.Column('user_id', sa.Integer(), nullable=True, comment='Whose OAuth token sends it'),
    sa.Column('action', sa.String(length=16), nullable=False, comment='add (P180 + P2677) | qualify (P2677 on an existing P180) | remove'),
    sa.Column('region', sa.String(length=64), nullable=True, comment="P2677 value 'pct:x,y,w,h'"),
    sa.Column('state', sa.String(length=16), nullable=False, comment='pending | sending | done | failed | skipped (already on Commons) | cancelled'),
    sa.Column('batch_id', sa.String(length=32), nullable=True, comment='Send batch, for EditGroups'),
    sa.Column('created_statement', sa.Boolean(), nullable=False, comment='True when this tool created the statement (only those may be removed)'),
    sa.Column('statement_id', sa.String(length=100), nullable=True, comment='GUID of the statement written or found'),
    sa.Column('written_json', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mariadb').with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=True, comment='The statement as written, to tell whether others changed it since'),
    sa.Column('revision_id', sa.BigInteger(), nullable=True, comment='Revision of the latest successful edit'),
    sa.Column('error_code', sa.String(length=64), nullable=True, comment='API error code of the last failure'),
    sa.Column('error_message', sa.String(length=500), nullable=True, comment='Readable error of the last failure'),
    sa.Column('retryable', sa.Boolean(), nullable=True, comment='Whether the last failure may succeed later'),
    sa.Column('attempts', sa.SmallInteger(), nullable=False, comment='Send attempts'),
    sa.Column('next_try_at', sa.DateTime(), nullable=True, comment='Not before this time; NULL = now'),
    sa.Column('lease_owner', sa.String(length=64), nullable=True, comment='Worker id holding the claim, NULL if free'),
    sa.Column('lease_until', sa.DateTime(), nullable=True, comment='Claim expiry (UTC); an expired claim may be taken by any worker'),
    sa.Column('created_at', sa.DateTime(), nullable=False, comment='When the row was created (UTC)'),
    sa.Column('updated_at', sa.DateTime(), nullable=True, comment='Last state change'),
    sa.ForeignKeyConstraint(['face_id'], ['faces.id'], name=op.f('fk_edits_face_id_faces'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_edits_project_id_projects'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_edits_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_edits')),
    sa.UniqueConstraint('page_id', 'qid', name=op.f('uq_edits_page_id_qid')),
    comment='Depicts statements to write to Commons, exactly once per (file, Q-id)'
    )
    with op.batch_alter_table('edits', schema=None) as batch_op:
        batch_op.create_index('ix_edits_project_state', ['project_id', 'state'], unique=False)
        batch_op.create_index('ix_edits_state_next_try', ['state', 'next_try_at'], unique=False)

    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False, comment='Job id'),
    sa.Column('kind', sa.String(length=32), nullable=False, comment='crawl | encode_box | train | send_edits | undo_edits | seed | ...'),
    sa.Column('project_id', sa.Integer(), nullable=True, comment='Project the job belongs to'),
    sa.Column('face_id', sa.Integer(), nullable=True, comment='Face the job is about (encode_box)'),
    sa.Column('user_id', sa.Integer(), nullable=True, comment='Who asked for it'),
    sa.Column('payload', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mariadb').with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=True, comment='JSON arguments'),
    sa.Column('state', sa.String(length=16), nullable=False, comment='queued | running | done | failed'),
    sa.Column('dedupe_key', sa.String(length=100), nullable=True, comment='At most one open job per key (e.g. train:12); cleared when finished'),
    sa.Column('attempts', sa.SmallInteger(), nullable=False, comment='Runs so far'),
    sa.Column('run_after', sa.DateTime(), nullable=True, comment='Not before this time; NULL = now'),
    sa.Column('lease_owner', sa.String(length=64), nullable=True, comment='Worker id holding the claim, NULL if free'),
    sa.Column('lease_until', sa.DateTime(), nullable=True, comment='Claim expiry (UTC); an expired claim may be taken by any worker'),
    sa.Column('result', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mariadb').with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=True, comment='JSON result'),
    sa.Column('error', sa.String(length=500), nullable=True, comment='Readable error when failed'),
    sa.Column('created_at', sa.DateTime(), nullable=False, comment='When the row was created (UTC)'),
    sa.Column('finished_at', sa.DateTime(), nullable=True, comment='When it ended'),
    sa.ForeignKeyConstraint(['face_id'], ['faces.id'], name=op.f('fk_jobs_face_id_faces'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_jobs_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_jobs_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_jobs_dedupe_key')),
    comment='On-demand and scheduled work for the workers'
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_project_kind', ['project_id', 'kind'], unique=False)
        batch_op.create_index('ix_jobs_state_run_after', ['state', 'run_after'], unique=False)



def downgrade() -> None:
    # Indexes and constraints go with their tables; children before parents.
    op.drop_table('jobs')
    op.drop_table('edits')
    op.drop_table('decisions')
    op.drop_table('project_members')
    op.drop_table('faces')
    op.drop_table('project_categories')
    op.drop_table('model_runs')
    op.drop_table('invites')
    op.drop_table('images')
    op.drop_table('projects')
    op.drop_table('workers')
    op.drop_table('users')
