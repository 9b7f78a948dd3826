"""files, detections, project sources

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-24

Why: a Commons file was detected and encoded again by every project that included it. Now each
file is detected once per version (its original's SHA-1): ``files`` holds the file and the
thumbnail the detector ran on, ``detections`` the faces found with their encodings, and each
project's faces refer to a detection (``faces.detection_id``) while keeping their own label,
score, priority and reservation. ``faces.encoding`` goes: encodings live only in
``detections``. ``project_sources`` records the candidate sources a project opted into.

Existing data: one ``files`` row per page with a processed image, taken from that page's image
with the most faces (the canonical one); its detector faces become the file's shared
detections. Another project's face on the same page shares the detection with exactly the
same box (the same thumbnail gives the same box and encoding); otherwise it keeps its own
encoding as a detection private to its project, as do drawn boxes. SHA-1s were not kept
before, so ``files.sha1`` starts NULL and is adopted at the next check. The downgrade puts every
encoding back on its faces.
"""
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
SHARED_SOURCES = ('detector', 'seed')

# The tables as this migration knows them (not likeness.db.schema, which moves on).
def _table(name: str, *columns: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                    *(sa.Column(c) for c in columns))


_images = _table('images', 'page_id', 'title', 'status', 'width', 'height', 'mime',
                 'thumb_url', 'thumb_width', 'thumb_height', 'faces_found', 'processed_at')
_files = _table('files', 'page_id', 'title', 'width', 'height', 'mime', 'thumb_url',
                'thumb_width', 'thumb_height', 'faces_found', 'detected_at', 'created_at')
_detections = _table('detections', 'file_id', 'sha1', 'box_left', 'box_top', 'box_width',
                     'box_height', 'encoding', 'project_id', 'created_at')
_faces = _table('faces', 'project_id', 'image_id', 'box_left', 'box_top', 'box_width',
                'box_height', 'encoding', 'source', 'detection_id', 'created_at')

# A SQLite table copy keeps AUTOINCREMENT only when told (ids are never reused: migration 0004).
AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.create_table(
        'project_sources',
        sa.Column('project_id', sa.Integer(), nullable=False, comment='The project'),
        sa.Column('kind', sa.String(length=20), nullable=False,
                  comment="commons_category (the item's P373 tree) | search (label search) | "
                          "related (files depicting related items)"),
        sa.Column('added_at', sa.DateTime(), nullable=False, comment='When the owner opted in'),
        sa.Column('last_run_at', sa.DateTime(), nullable=True,
                  comment='Start of the last listing of this source'),
        sa.Column('last_listed', sa.Integer(), nullable=True,
                  comment='Files the last listing returned (capped)'),
        sa.Column('last_new', sa.Integer(), nullable=True,
                  comment='Files the last listing added to the project'),
        sa.Column('capped', sa.Boolean(), nullable=False,
                  comment='The last listing stopped at the cap (sources.search_files)'),
        sa.CheckConstraint("kind IN ('commons_category','search','related')",
                           name=op.f('ck_project_sources_kind')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                name=op.f('fk_project_sources_project_id_projects'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('project_id', 'kind', name=op.f('pk_project_sources')),
        comment='Candidate sources beyond the category a project opted into')
    op.create_table(
        'files',
        sa.Column('id', sa.Integer(), nullable=False, comment='File id'),
        sa.Column('page_id', sa.BigInteger(), nullable=False,
                  comment='Commons page id (MediaInfo M<id>)'),
        sa.Column('title', sa.String(length=255), nullable=False,
                  comment="File title with the 'File:' prefix"),
        sa.Column('sha1', sa.String(length=40), nullable=True,
                  comment='SHA-1 of the original the current detections were made on; NULL '
                          'before the first detection (or detected before sha1s were kept: '
                          'adopted at the next check)'),
        sa.Column('width', sa.Integer(), nullable=True, comment='Original width in pixels'),
        sa.Column('height', sa.Integer(), nullable=True, comment='Original height in pixels'),
        sa.Column('mime', sa.String(length=100), nullable=True,
                  comment='MIME type of the original'),
        sa.Column('thumb_url', sa.String(length=2000), nullable=True,
                  comment='Thumbnail URL the detector ran on'),
        sa.Column('thumb_width', sa.Integer(), nullable=True, comment='Width of that thumbnail'),
        sa.Column('thumb_height', sa.Integer(), nullable=True,
                  comment='Height of that thumbnail'),
        sa.Column('faces_found', sa.SmallInteger(), nullable=True,
                  comment='Faces the detector found on this version'),
        sa.Column('detected_at', sa.DateTime(), nullable=True,
                  comment='When detection of this version finished'),
        sa.Column('checked_at', sa.DateTime(), nullable=True,
                  comment='When the sha1 was last compared with Commons (re-upload check)'),
        sa.Column('lease_owner', sa.String(length=64), nullable=True,
                  comment='Worker id holding the claim, NULL if free'),
        sa.Column('lease_until', sa.DateTime(), nullable=True,
                  comment='Claim expiry (UTC); an expired claim may be taken by any worker'),
        sa.Column('created_at', sa.DateTime(), nullable=False,
                  comment='When the row was created (UTC)'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_files')),
        sa.UniqueConstraint('page_id', name=op.f('uq_files_page_id')),
        comment='Commons files detected once and shared by every project that includes them',
        sqlite_autoincrement=True)
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.create_index('ix_files_checked', ['checked_at'], unique=False)
    op.create_table(
        'detections',
        sa.Column('id', sa.Integer(), nullable=False, comment='Detection id'),
        sa.Column('file_id', sa.Integer(), nullable=False, comment='The Commons file'),
        sa.Column('sha1', sa.String(length=40), nullable=True,
                  comment="Version of the file (its original's SHA-1) the face was found on"),
        sa.Column('box_left', sa.Float(), nullable=False,
                  comment='Left edge, fraction of image width'),
        sa.Column('box_top', sa.Float(), nullable=False,
                  comment='Top edge, fraction of image height'),
        sa.Column('box_width', sa.Float(), nullable=False,
                  comment='Width, fraction of image width'),
        sa.Column('box_height', sa.Float(), nullable=False,
                  comment='Height, fraction of image height'),
        sa.Column('encoding', sa.LargeBinary(length=512), nullable=True,
                  comment='128 float32 little-endian (512 bytes); NULL once no project needs it'),
        sa.Column('project_id', sa.Integer(), nullable=True,
                  comment="NULL: the detector's, shared by every project; set: private to this "
                          "project (a drawn box, or a duplicate detected before migration "
                          "0007)"),
        sa.Column('created_at', sa.DateTime(), nullable=False,
                  comment='When the row was created (UTC)'),
        sa.ForeignKeyConstraint(['file_id'], ['files.id'],
                                name=op.f('fk_detections_file_id_files'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                name=op.f('fk_detections_project_id_projects'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_detections')),
        comment='Faces found on one version of a file, with their encodings (biometric data: '
                "see retention); each project's faces refer to them",
        sqlite_autoincrement=True)
    with op.batch_alter_table('detections', schema=None) as batch_op:
        batch_op.create_index('ix_detections_file', ['file_id', 'sha1'], unique=False)
    with op.batch_alter_table('images', schema=None, table_kwargs=AUTOINCREMENT) as batch_op:
        batch_op.create_index('ix_images_page', ['page_id'], unique=False)
    with op.batch_alter_table('faces', schema=None, table_kwargs=AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column(
            'detection_id', sa.Integer(), nullable=True,
            comment="The detection holding this face's encoding; NULL while a drawn box waits"))
        batch_op.create_foreign_key(batch_op.f('fk_faces_detection_id_detections'),
                                    'detections', ['detection_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index('ix_faces_detection', ['detection_id'], unique=False)

    _move_encodings(op.get_bind())

    with op.batch_alter_table('faces', schema=None, table_kwargs=AUTOINCREMENT) as batch_op:
        batch_op.drop_column('encoding')
    _comments(FACES_STATE_NEW, FACES_NEW, IMAGES_NEW, ORIGIN_NEW, THUMB_URL_NEW,
              PROCESSED_AT_NEW)


# Comments that change (SQLite keeps none, so only MariaDB is told).
FACES_STATE_OLD = 'active | encoding (drawn box queued) | replaced (box edited) | error'
FACES_STATE_NEW = (FACES_STATE_OLD + ' | superseded (the file was re-uploaded; kept for its '
                   'decisions)')
FACES_OLD = 'Faces found or drawn on images; encodings are biometric data (see retention)'
FACES_NEW = ("A project's faces: a detection (box copied for the hot queries) and this "
             "project's label, score, priority and reservation")
IMAGES_OLD = 'Files of a project and their processing state'
IMAGES_NEW = 'Files of a project and their processing state (detections live in files)'
ORIGIN_OLD = "category (crawled) | reference (the item's P18) | depicts (P180 search)"
ORIGIN_NEW = ("category (crawled tree) | reference (the item's P18) | depicts (P180 search) | "
              "search (label search) | related (depicts a related item)")
THUMB_URL_OLD = 'Thumbnail URL the faces were found on'
THUMB_URL_NEW = 'Thumbnail URL the faces were found on (copied from files when linked)'
PROCESSED_AT_OLD = 'When detection finished'
PROCESSED_AT_NEW = 'When the faces were linked to this project'


def _comments(state: str, faces: str, images: str, origin: str, thumb_url: str,
              processed_at: str) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        return
    op.alter_column('faces', 'state', existing_type=sa.String(length=16),
                    existing_nullable=False, comment=state)
    op.create_table_comment('faces', faces)
    op.create_table_comment('images', images)
    op.alter_column('images', 'origin', existing_type=sa.String(length=16),
                    existing_nullable=False, comment=origin)
    op.alter_column('images', 'thumb_url', existing_type=sa.String(length=2000),
                    existing_nullable=True, comment=thumb_url)
    op.alter_column('images', 'processed_at', existing_type=sa.DateTime(),
                    existing_nullable=True, comment=processed_at)


def _move_encodings(conn: sa.Connection) -> None:
    """Every encoded face gets a detection (see the module docstring for which are shared)."""
    canonical = _canonical_images(conn)
    file_ids = _create_files(conn, canonical)
    # Shared detections: the detector's faces on each page's canonical image.
    boxes: dict[int, dict[tuple, int]] = defaultdict(dict)   # file id -> box -> detection
    for rows in _encoded_faces(conn):
        for face in rows:
            file_id = file_ids.get(face.page_id)
            if (file_id is None or canonical[face.page_id] != face.image_id
                    or face.source not in SHARED_SOURCES):
                continue
            detection_id = _insert_detection(conn, file_id, face, None)
            boxes[file_id][_box(face)] = detection_id
            _link(conn, face.id, detection_id)
    # The rest: the same box on the same file shares; anything else stays the project's own.
    for rows in _encoded_faces(conn, unlinked=True):
        for face in rows:
            file_id = file_ids.get(face.page_id) or _file_for(conn, face, file_ids)
            shared = boxes[file_id].get(_box(face)) if face.source in SHARED_SOURCES else None
            detection_id = shared or _insert_detection(conn, file_id, face, face.project_id)
            _link(conn, face.id, detection_id)


def _canonical_images(conn: sa.Connection) -> dict[int, int]:
    """page id -> the processed image with the most faces (then the lowest id)."""
    best: dict[int, tuple[int, int]] = {}
    rows = conn.execute(sa.select(_images.c.id, _images.c.page_id, _images.c.faces_found)
                        .where(_images.c.status == 'done').order_by(_images.c.id))
    for row in rows:
        found = row.faces_found or 0
        if row.page_id not in best or found > best[row.page_id][1]:
            best[row.page_id] = (row.id, found)
    return {page: image for page, (image, _) in best.items()}


def _create_files(conn: sa.Connection, canonical: dict[int, int]) -> dict[int, int]:
    ids = list(canonical.values())
    file_ids: dict[int, int] = {}
    for start in range(0, len(ids), BATCH):
        for img in conn.execute(sa.select(_images).where(
                _images.c.id.in_(ids[start:start + BATCH]))).all():
            file_ids[img.page_id] = conn.execute(sa.insert(_files).values(
                page_id=img.page_id, title=img.title, width=img.width, height=img.height,
                mime=img.mime, thumb_url=img.thumb_url, thumb_width=img.thumb_width,
                thumb_height=img.thumb_height, faces_found=img.faces_found,
                detected_at=img.processed_at, created_at=_now(),
            )).inserted_primary_key[0]
    return file_ids


def _file_for(conn: sa.Connection, face: sa.Row, file_ids: dict[int, int]) -> int:
    """A file row for an encoded face whose image was not processed (a drawn box)."""
    title = conn.execute(sa.select(_images.c.title).where(_images.c.id == face.image_id)
                         ).scalar_one()
    file_ids[face.page_id] = conn.execute(sa.insert(_files).values(
        page_id=face.page_id, title=title, created_at=_now(),
    )).inserted_primary_key[0]
    return file_ids[face.page_id]


def _encoded_faces(conn: sa.Connection, unlinked: bool = False):  # type: ignore[no-untyped-def]
    """Encoded faces with their page, in batches by id (memory stays bounded)."""
    last = 0
    while True:
        query = (sa.select(_faces.c.id, _faces.c.project_id, _faces.c.image_id,
                           _faces.c.box_left, _faces.c.box_top, _faces.c.box_width,
                           _faces.c.box_height, _faces.c.encoding, _faces.c.source,
                           _faces.c.created_at, _images.c.page_id)
                 .join(_images, _images.c.id == _faces.c.image_id)
                 .where(_faces.c.id > last, _faces.c.encoding.is_not(None))
                 .order_by(_faces.c.id).limit(BATCH))
        if unlinked:
            query = query.where(_faces.c.detection_id.is_(None))
        rows = conn.execute(query).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _box(face: sa.Row) -> tuple:
    return (face.box_left, face.box_top, face.box_width, face.box_height)


def _insert_detection(conn: sa.Connection, file_id: int, face: sa.Row,
                      project_id: int | None) -> int:
    return conn.execute(sa.insert(_detections).values(
        file_id=file_id, sha1=None, box_left=face.box_left, box_top=face.box_top,
        box_width=face.box_width, box_height=face.box_height, encoding=face.encoding,
        project_id=project_id, created_at=face.created_at,
    )).inserted_primary_key[0]


def _link(conn: sa.Connection, face_id: int, detection_id: int) -> None:
    conn.execute(sa.update(_faces).where(_faces.c.id == face_id)
                 .values(detection_id=detection_id))


def downgrade() -> None:
    with op.batch_alter_table('faces', schema=None, table_kwargs=AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column(
            'encoding', sa.LargeBinary(length=512), nullable=True,
            comment='128 float32 little-endian (512 bytes); NULL while a drawn box waits'))
    op.execute(sa.update(_faces).values(encoding=sa.select(_detections.c.encoding).where(
        _detections.c.id == _faces.c.detection_id).scalar_subquery()))
    with op.batch_alter_table('faces', schema=None, table_kwargs=AUTOINCREMENT) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_faces_detection_id_detections'),
                                 type_='foreignkey')
        batch_op.drop_index('ix_faces_detection')
        batch_op.drop_column('detection_id')
    _comments(FACES_STATE_OLD, FACES_OLD, IMAGES_OLD, ORIGIN_OLD, THUMB_URL_OLD,
              PROCESSED_AT_OLD)
    with op.batch_alter_table('images', schema=None, table_kwargs=AUTOINCREMENT) as batch_op:
        batch_op.drop_index('ix_images_page')
    op.drop_table('detections')   # with its indexes
    op.drop_table('files')
    op.drop_table('project_sources')
