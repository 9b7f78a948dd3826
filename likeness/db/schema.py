"""The whole data model, as SQLAlchemy Core tables. Runs on MariaDB (ToolsDB) and SQLite.

Data flows top to bottom: users create projects; the worker crawls a project's categories (and
the sources it opted into) into images; each Commons file is detected once (``files`` and
``detections``, shared by every project that includes it) and each project's images get faces
that refer to those detections; a model run scores a project's faces; people answer questions
about faces (decisions, append-only); confirmed faces become edits to Commons; jobs and workers
coordinate the processes. Times are naive UTC. Every index names the query it serves.

Alembic migrations in migrations/versions create exactly these tables (a test compares them).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    CursorResult,
    DateTime,
    Double,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.sql.expression import false

# Surrogate ids are never reused: on SQLite that takes AUTOINCREMENT (sqlite_autoincrement=True
# on each table below); MariaDB's AUTO_INCREMENT never reuses them anyway. A reused user id
# would hand a deleted user's session to the next new user; a reused decision id would hide
# new answers from model_runs.last_decision_id. A migration that copies such a table on SQLite
# (batch_alter_table) must pass table_kwargs={"sqlite_autoincrement": True}, or the copy loses
# it (tests/test_db_migrations.py checks the migrated schema).

# Stable constraint names, so migrations can refer to them on both databases.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Model parameters can exceed MariaDB's 64 KB BLOB.
Blob = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
# MariaDB's TEXT is 64 KB; job results and statement JSON stay far below.
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def utcnow() -> dt.datetime:
    """Naive UTC, as every timestamp column stores it."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row a single-row INSERT just wrote."""
    key = result.inserted_primary_key
    if key is None:  # only for statements that are not single-row inserts
        raise ValueError("not the result of a single-row INSERT")
    return int(key[0])


def _created() -> Column:
    return Column("created_at", DateTime, nullable=False, default=utcnow,
                  comment="When the row was created (UTC)")


def _lease() -> tuple[Column, Column]:
    return (
        Column("lease_owner", String(64), comment="Worker id holding the claim, NULL if free"),
        Column("lease_until", DateTime,
               comment="Claim expiry (UTC); an expired claim may be taken by any worker"),
    )


users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, comment="Local user id"),
    Column("wiki_user_id", BigInteger, nullable=False, unique=True,
           comment="Wikimedia central user id (OAuth 2.0 profile 'sub')"),
    Column("username", String(255), nullable=False, comment="Wikimedia user name"),
    Column("access_token", Blob, comment="OAuth 2.0 access token, Fernet-encrypted"),
    Column("refresh_token", Blob,
           comment="OAuth 2.0 refresh token, Fernet-encrypted; rotates on every refresh"),
    Column("token_expires_at", DateTime, comment="Access token expiry (UTC)"),
    _created(),
    Column("last_seen_at", DateTime, comment="Last request by this user (retention policy)"),
    Column("session_generation", Integer, nullable=False, server_default="0",
           comment="Raised at logout: every session cookie carrying an older value is refused"),
    Column("edit_rights", String(16),
           comment="Commons at the last check: ok | blocked | no_grant; NULL = not checked"),
    Column("edit_rights_note", String(500),
           comment="Why the account cannot edit: block reason and expiry, or the missing right"),
    Column("rights_checked_at", DateTime, comment="When Commons was last asked (UTC)"),
    comment="People who logged in with their Wikimedia account",
    sqlite_autoincrement=True,
)

projects = Table(
    "projects", metadata,
    Column("id", Integer, primary_key=True, comment="Project id, used in URLs"),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
           comment="The user who created the project"),
    Column("qid", String(20), nullable=False, comment="Wikidata item of the person, e.g. Q42"),
    Column("label", String(400), nullable=False, comment="Item label when the project was made"),
    Column("description", String(1000), nullable=False, default="",
           comment="Item description when the project was made"),
    Column("reference_file", String(255),
           comment="P18 file title of the item (reference photo shown while labelling)"),
    Column("category", String(255), nullable=False,
           comment="Commons category title, without the 'Category:' prefix"),
    Column("depth", SmallInteger, nullable=False, default=1,
           comment="How many subcategory levels below the category are crawled"),
    Column("threshold", Float,
           comment="Owner's score threshold for proposals; NULL uses the calibrated one"),
    Column("status", String(16), nullable=False, default="active",
           comment="active | paused (worker leaves it alone) | archived (read-only)"),
    Column("share_knowledge", Boolean, nullable=False, default=False,
           comment="Opt-in: confirmed faces help other opted-in projects on the same Q-id"),
    Column("seed_outside_tree", Boolean, nullable=False, default=False,
           comment="Opt-in: seed from files with P180=qid outside the category tree"),
    Column("add_region_to_existing", Boolean, nullable=False, default=False,
           comment="Add a P2677 region to an existing P180=qid statement that has none"),
    Column("members_can_send", Boolean, nullable=False, default=False,
           comment="Labellers (not only the owner) may send edits to Commons"),
    Column("next_crawl_at", DateTime,
           comment="When the worker should next (re)crawl; NULL = not scheduled"),
    Column("last_crawled_at", DateTime, comment="When the last crawl finished"),
    Column("last_activity_at", DateTime, comment="Last answer or setting change (retention)"),
    _created(),
    CheckConstraint("status IN ('active','paused','archived')", name="status"),
    CheckConstraint("depth >= 0 AND depth <= 10", name="depth"),
    comment="One person (Q-id) to find in one Commons category tree",
    sqlite_autoincrement=True,
)
# Worker: projects due for a crawl.
Index("ix_projects_status_next_crawl", projects.c.status, projects.c.next_crawl_at)

project_members = Table(
    "project_members", metadata,
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"),
           primary_key=True, comment="The project"),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
           comment="The member"),
    Column("role", String(16), nullable=False, comment="owner | labeller"),
    Column("invite_id", Integer, ForeignKey("invites.id", ondelete="SET NULL"),
           comment="Invite code used to join, if any"),
    Column("joined_at", DateTime, nullable=False, default=utcnow, comment="When they joined"),
    CheckConstraint("role IN ('owner','labeller')", name="role"),
    comment="Who may see and label a project, and with which role",
)
# Dashboard: the projects a user belongs to.
Index("ix_project_members_user", project_members.c.user_id)

invites = Table(
    "invites", metadata,
    Column("id", Integer, primary_key=True, comment="Invite id"),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"),
           nullable=False, comment="Project the code lets people join"),
    Column("code_hash", String(64), nullable=False, unique=True,
           comment="SHA-256 hex of the code; the code itself is shown once and never stored"),
    Column("code_hint", String(8), nullable=False, comment="First characters, to tell codes apart"),
    Column("role", String(16), nullable=False, default="labeller", comment="Role granted"),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL"),
           comment="Who created the code"),
    _created(),
    Column("expires_at", DateTime, comment="Code refused after this time; NULL = no expiry"),
    Column("uses_left", Integer, comment="Joins still allowed; NULL = unlimited"),
    Column("revoked_at", DateTime, comment="When the owner revoked it; NULL = active"),
    comment="Invite codes for sharing a project",
    sqlite_autoincrement=True,
)
# Project settings page: a project's invites.
Index("ix_invites_project", invites.c.project_id)

project_categories = Table(
    "project_categories", metadata,
    Column("id", Integer, primary_key=True, comment="Row id"),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"),
           nullable=False, comment="Project whose tree holds the category"),
    Column("title", String(255), nullable=False, comment="Category title without prefix"),
    Column("depth", SmallInteger, nullable=False,
           comment="Distance from the project's root category (root = 0)"),
    Column("last_crawled_at", DateTime,
           comment="Start of the last listing; the next one asks only for newer members"),
    UniqueConstraint("project_id", "title"),
    comment="The category tree of a project as crawled, for incremental re-crawls",
    sqlite_autoincrement=True,
)

project_sources = Table(
    "project_sources", metadata,
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"),
           primary_key=True, comment="The project"),
    Column("kind", String(20), primary_key=True,
           comment="commons_category (the item's P373 tree) | search (label search) | "
                   "related (files depicting related items)"),
    Column("added_at", DateTime, nullable=False, default=utcnow,
           comment="When the owner opted in"),
    Column("last_run_at", DateTime, comment="Start of the last listing of this source"),
    Column("last_listed", Integer, comment="Files the last listing returned (capped)"),
    Column("last_new", Integer, comment="Files the last listing added to the project"),
    Column("capped", Boolean, nullable=False, default=False,
           comment="The last listing stopped at the cap (sources.search_files)"),
    CheckConstraint("kind IN ('commons_category','search','related')", name="kind"),
    comment="Candidate sources beyond the category a project opted into",
)

images = Table(
    "images", metadata,
    Column("id", Integer, primary_key=True, comment="Image id"),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"),
           nullable=False, comment="Project the file was found for"),
    Column("page_id", BigInteger, nullable=False, comment="Commons page id (MediaInfo M<id>)"),
    Column("title", String(255), nullable=False, comment="File title with the 'File:' prefix"),
    Column("origin", String(16), nullable=False, default="category",
           comment="category (crawled tree) | reference (the item's P18) | depicts (P180 "
                   "search) | search (label search) | related (depicts a related item)"),
    Column("status", String(16), nullable=False, default="pending",
           comment="pending | done | failed (gave up after retries) | skipped (not a photo)"),
    Column("attempts", SmallInteger, nullable=False, default=0,
           comment="Processing attempts so far"),
    Column("error_kind", String(32), comment="Short code of the last error, e.g. truncated"),
    Column("last_error", String(500), comment="Last error, readable"),
    Column("next_try_at", DateTime, comment="Not before this time (backoff); NULL = now"),
    *_lease(),
    Column("width", Integer, comment="Original width in pixels"),
    Column("height", Integer, comment="Original height in pixels"),
    Column("mime", String(100), comment="MIME type of the original"),
    Column("thumb_url", String(2000),
           comment="Thumbnail URL the faces were found on (copied from files when linked)"),
    Column("thumb_width", Integer, comment="Width of the thumbnail used for detection"),
    Column("thumb_height", Integer, comment="Height of the thumbnail used for detection"),
    Column("faces_found", SmallInteger, comment="Faces the detector found"),
    Column("processed_at", DateTime, comment="When the faces were linked to this project"),
    _created(),
    UniqueConstraint("project_id", "page_id"),
    comment="Files of a project and their processing state (detections live in files)",
    sqlite_autoincrement=True,
)
# Worker: claim pending images in order of readiness, across projects.
Index("ix_images_status_next_try", images.c.status, images.c.next_try_at)
# Project page: counts of images by status.
Index("ix_images_project_status", images.c.project_id, images.c.status)
# One file's images in every project: linking detections, files nobody needs any more.
Index("ix_images_page", images.c.page_id)

files = Table(
    "files", metadata,
    Column("id", Integer, primary_key=True, comment="File id"),
    Column("page_id", BigInteger, nullable=False, unique=True,
           comment="Commons page id (MediaInfo M<id>)"),
    Column("title", String(255), nullable=False, comment="File title with the 'File:' prefix"),
    Column("sha1", String(40),
           comment="SHA-1 of the original the current detections were made on; NULL before "
                   "the first detection (or detected before sha1s were kept: adopted at the "
                   "next check)"),
    Column("width", Integer, comment="Original width in pixels"),
    Column("height", Integer, comment="Original height in pixels"),
    Column("mime", String(100), comment="MIME type of the original"),
    Column("thumb_url", String(2000), comment="Thumbnail URL the detector ran on"),
    Column("thumb_width", Integer, comment="Width of that thumbnail"),
    Column("thumb_height", Integer, comment="Height of that thumbnail"),
    Column("faces_found", SmallInteger, comment="Faces the detector found on this version"),
    Column("detected_at", DateTime, comment="When detection of this version finished"),
    Column("checked_at", DateTime,
           comment="When the sha1 was last compared with Commons (re-upload check)"),
    *_lease(),
    _created(),
    comment="Commons files detected once and shared by every project that includes them",
    sqlite_autoincrement=True,
)
# Re-upload check: a project's files checked longest ago first.
Index("ix_files_checked", files.c.checked_at)

detections = Table(
    "detections", metadata,
    Column("id", Integer, primary_key=True, comment="Detection id"),
    Column("file_id", Integer, ForeignKey("files.id", ondelete="CASCADE"), nullable=False,
           comment="The Commons file"),
    Column("sha1", String(40),
           comment="Version of the file (its original's SHA-1) the face was found on"),
    Column("box_left", Float, nullable=False, comment="Left edge, fraction of image width"),
    Column("box_top", Float, nullable=False, comment="Top edge, fraction of image height"),
    Column("box_width", Float, nullable=False, comment="Width, fraction of image width"),
    Column("box_height", Float, nullable=False, comment="Height, fraction of image height"),
    Column("encoding", LargeBinary(512),
           comment="128 float32 little-endian (512 bytes); NULL once no project needs it"),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"),
           comment="NULL: the detector's, shared by every project; set: private to this "
                   "project (a drawn box, or a duplicate detected before migration 0007)"),
    _created(),
    comment="Faces found on one version of a file, with their encodings (biometric data: "
            "see retention); each project's faces refer to them",
    sqlite_autoincrement=True,
)
# A file's current detections (linking a project's image, superseding a re-upload).
Index("ix_detections_file", detections.c.file_id, detections.c.sha1)

faces = Table(
    "faces", metadata,
    Column("id", Integer, primary_key=True, comment="Face id"),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"),
           nullable=False, comment="Project (copied from the image for the hot queries)"),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False,
           comment="Image the face is on"),
    Column("box_left", Float, nullable=False, comment="Left edge, fraction of image width"),
    Column("box_top", Float, nullable=False, comment="Top edge, fraction of image height"),
    Column("box_width", Float, nullable=False, comment="Width, fraction of image width"),
    Column("box_height", Float, nullable=False, comment="Height, fraction of image height"),
    Column("detection_id", Integer, ForeignKey("detections.id", ondelete="SET NULL"),
           comment="The detection holding this face's encoding; NULL while a drawn box waits"),
    Column("source", String(16), nullable=False, default="detector",
           comment="detector | manual (drawn by a person) | seed (provisional positive)"),
    Column("state", String(16), nullable=False, default="active",
           comment="active | encoding (drawn box queued) | replaced (box edited) | error | "
                   "superseded (the file was re-uploaded; kept for its decisions)"),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL"),
           comment="Who drew the box (manual faces)"),
    Column("label", String(12),
           comment="Current human label derived from decisions: yes | no | not_face | NULL"),
    Column("labelled_at", DateTime, comment="When the current label was set"),
    Column("score", Float, comment="Latest model score in [0, 1]; NULL before any model"),
    Column("model_run_id", Integer, ForeignKey("model_runs.id", ondelete="SET NULL"),
           comment="Model run that computed score and priority"),
    Column("priority", Float,
           comment="Queue order for asking (lower first), set by the model run"),
    Column("asked_at_random", Boolean, nullable=False, default=False, server_default=false(),
           comment="Queued as one of the random picks when last unanswered (honest audit)"),
    Column("reserved_by", Integer, ForeignKey("users.id", ondelete="SET NULL"),
           comment="User this face is being shown to, so nobody else gets it meanwhile"),
    Column("reserved_until", DateTime, comment="Reservation expiry (UTC)"),
    _created(),
    CheckConstraint("label IS NULL OR label IN ('yes','no','not_face')", name="label"),
    comment="A project's faces: a detection (box copied for the hot queries) and this "
            "project's label, score, priority and reservation",
    sqlite_autoincrement=True,
)
# Faces of one image (classification context, idempotent re-processing).
Index("ix_faces_image", faces.c.image_id)
# Faces of a detection in every project (superseding a re-upload, retention).
Index("ix_faces_detection", faces.c.detection_id)
# Next face to ask in a project: unlabelled, by priority.
Index("ix_faces_queue", faces.c.project_id, faces.c.label, faces.c.priority)
# Review grid (proposals by score), counts and the score histogram.
Index("ix_faces_project_score", faces.c.project_id, faces.c.label, faces.c.score)

decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True, comment="Decision id, increasing in time"),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"),
           nullable=False, comment="Project (copied from the face)"),
    Column("face_id", Integer, ForeignKey("faces.id", ondelete="CASCADE"), nullable=False,
           comment="Face the answer is about"),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
           comment="Who answered"),
    Column("answer", String(12), nullable=False,
           comment="yes | no | not_face | skip | approve | reject | undo"),
    Column("undoes_id", Integer, ForeignKey("decisions.id", ondelete="CASCADE"),
           comment="For answer=undo: the decision it takes back"),
    Column("via", String(12), nullable=False, default="classify",
           comment="classify | grid | review | box | seed: the screen the answer came from"),
    _created(),
    Column("client_token", String(64),
           comment="Token the browser generated for this answer; a retried POST finds it"),
    # A retried POST (same token) records nothing new.
    UniqueConstraint("user_id", "client_token"),
    CheckConstraint(
        "answer IN ('yes','no','not_face','skip','approve','reject','undo')", name="answer"),
    comment="Every human answer, append-only; a face's label is derived from its latest ones",
    sqlite_autoincrement=True,
)
# Deriving a face's current label: its decisions in order.
Index("ix_decisions_face", decisions.c.face_id, decisions.c.id)
# A user's undo stack in a project, newest first.
Index("ix_decisions_user_project", decisions.c.user_id, decisions.c.project_id, decisions.c.id)
# Leaderboard (distinct faces per user) and "new answers since the last model run".
Index("ix_decisions_project_user", decisions.c.project_id, decisions.c.user_id,
      decisions.c.face_id)

model_runs = Table(
    "model_runs", metadata,
    Column("id", Integer, primary_key=True, comment="Model run id"),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"),
           nullable=False, comment="Project trained"),
    Column("last_decision_id", Integer, nullable=False, default=0,
           comment="Newest decision the run saw; newer ones trigger retraining"),
    Column("n_positive", Integer, nullable=False, default=0, comment="Human positives used"),
    Column("n_negative", Integer, nullable=False, default=0, comment="Human negatives used"),
    Column("n_shared", Integer, nullable=False, default=0,
           comment="Positives borrowed from other opted-in projects on the same Q-id"),
    Column("threshold", Float, comment="Calibrated score threshold"),
    Column("precision_estimate", Float, comment="Estimated precision of proposals"),
    Column("recall_estimate", Float, comment="Estimated recall of proposals"),
    Column("params", Blob, comment="Serialised model (contains encodings: biometric data)"),
    Column("duration_ms", Integer, comment="Training and scoring time"),
    _created(),
    Column("n_uncertain", Integer,
           comment="Unanswered faces the model is unsure about (between the two cut-offs)"),
    Column("expected_left", Float,
           comment="Expected target faces among those not proposed (sum of their scores)"),
    Column("expected_next", Float,
           comment="Expected target faces among the next ten questions (done below 0.5)"),
    comment="Each training of a project's model on its human answers",
    sqlite_autoincrement=True,
)
# Latest model run of a project.
Index("ix_model_runs_project", model_runs.c.project_id, model_runs.c.id)

edits = Table(
    "edits", metadata,
    Column("id", Integer, primary_key=True, comment="Edit id"),
    Column("page_id", BigInteger, nullable=False, comment="Commons page id (entity M<page_id>)"),
    Column("qid", String(20), nullable=False, comment="Depicted item"),
    Column("title", String(255), nullable=False, comment="File title, for links and summaries"),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="SET NULL"),
           comment="Project that asked for it (kept NULL after deletion: the edit is public)"),
    Column("face_id", Integer, ForeignKey("faces.id", ondelete="SET NULL"),
           comment="The confirmed face behind the statement"),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"),
           comment="Whose OAuth token sends it"),
    Column("action", String(16), nullable=False, default="add",
           comment="add (P180 + P2677) | qualify (P2677 on an existing P180) | remove"),
    Column("region", String(64), comment="P2677 value 'pct:x,y,w,h'"),
    Column("state", String(16), nullable=False, default="pending",
           comment="pending | sending | done | failed | skipped (already on Commons) | cancelled"),
    Column("batch_id", String(32), comment="Send batch, for EditGroups"),
    Column("created_statement", Boolean, nullable=False, default=False,
           comment="True when this tool created the statement (only those may be removed)"),
    Column("statement_id", String(100), comment="GUID of the statement written or found"),
    Column("written_json", LongText,
           comment="The statement as written, to tell whether others changed it since"),
    Column("revision_id", BigInteger, comment="Revision of the latest successful edit"),
    Column("error_code", String(64), comment="API error code of the last failure"),
    Column("error_message", String(500), comment="Readable error of the last failure"),
    Column("retryable", Boolean, comment="Whether the last failure may succeed later"),
    Column("attempts", SmallInteger, nullable=False, default=0, comment="Send attempts"),
    Column("next_try_at", DateTime, comment="Not before this time; NULL = now"),
    *_lease(),
    _created(),
    Column("updated_at", DateTime, comment="Last state change"),
    Column("undo_decision_id", Integer,
           comment="Newest decision when Undo took it back; only a later human yes re-offers it"),
    UniqueConstraint("page_id", "qid"),
    comment="Depicts statements to write to Commons, exactly once per (file, Q-id)",
    sqlite_autoincrement=True,
)
# Sender: pending edits ready to go.
Index("ix_edits_state_next_try", edits.c.state, edits.c.next_try_at)
# Project page: edit progress by state.
Index("ix_edits_project_state", edits.c.project_id, edits.c.state)
# Edits page: a person's edits backed by a project's faces (queued by any project), by state.
Index("ix_edits_qid_state", edits.c.qid, edits.c.state)

jobs = Table(
    "jobs", metadata,
    Column("id", Integer, primary_key=True, comment="Job id"),
    Column("kind", String(32), nullable=False,
           comment="A likeness.db.jobs.JobKind: crawl | seed | train | encode_box"),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"),
           comment="Project the job belongs to"),
    Column("face_id", Integer, ForeignKey("faces.id", ondelete="CASCADE"),
           comment="Face the job is about (encode_box)"),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"),
           comment="Who asked for it"),
    Column("payload", LongText, comment="JSON arguments"),
    Column("state", String(16), nullable=False, default="queued",
           comment="queued | running | done | failed"),
    Column("dedupe_key", String(100), unique=True,
           comment="At most one open job per key (e.g. train:12); cleared when finished"),
    Column("attempts", SmallInteger, nullable=False, default=0, comment="Runs so far"),
    Column("run_after", DateTime, comment="Not before this time; NULL = now"),
    *_lease(),
    Column("result", LongText, comment="JSON result"),
    Column("error", String(500), comment="Readable error when failed"),
    _created(),
    Column("finished_at", DateTime, comment="When it ended"),
    comment="On-demand and scheduled work for the workers",
    sqlite_autoincrement=True,
)
# Worker: claim queued jobs in order of readiness.
Index("ix_jobs_state_run_after", jobs.c.state, jobs.c.run_after)
# Web app: a project's open jobs (e.g. is a drawn box encoded yet).
Index("ix_jobs_project_kind", jobs.c.project_id, jobs.c.kind)

workers = Table(
    "workers", metadata,
    Column("id", String(64), primary_key=True, comment="host:pid:random, unique per process"),
    Column("hostname", String(255), nullable=False, comment="Host (Kubernetes pod) name"),
    Column("pid", Integer, nullable=False, comment="Process id"),
    Column("version", String(32), nullable=False, default="", comment="Tool version"),
    Column("started_at", DateTime, nullable=False, default=utcnow, comment="Process start"),
    Column("heartbeat_at", DateTime, nullable=False, default=utcnow,
           comment="Last sign of life; a stale worker's claims are free (likeness.db.claims)"),
    Column("state", String(16), nullable=False, default="starting",
           comment="starting | idle | busy | stopping | stopped"),
    Column("current", String(255), comment="What it is doing now, for the status page"),
    Column("images_done", Integer, nullable=False, default=0, comment="Images processed"),
    Column("stale_seconds", Integer, nullable=False, default=30, server_default="30",
           comment="Silence after which this worker counts as dead and its claims are free"),
    comment="One heartbeat row per worker process",
)
# Status page and "is any worker alive" banner: freshest heartbeat.
Index("ix_workers_heartbeat", workers.c.heartbeat_at)

rate_limits = Table(
    "rate_limits", metadata,
    Column("bucket", String(120), primary_key=True,
           comment="Limit group and who it counts: e.g. join:u12 (a user), login:a192.0.2.1"),
    Column("tokens", Double, nullable=False,
           comment="Requests left in the bucket after the last one (token bucket)"),
    Column("updated_at", Double, nullable=False,
           comment="Unix time of the last request counted (seconds)"),
    Column("full_at", Double, nullable=False,
           comment="Unix time when the bucket is full again; later rows carry nothing"),
    comment="Rate-limit buckets, shared by every web process",
)
# Pruning buckets that have refilled.
Index("ix_rate_limits_full_at", rate_limits.c.full_at)
