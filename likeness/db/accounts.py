"""Deleting a user's account and everything they said (their decisions).

Projects they own pass to the longest-standing other member; a project with no other member is
deleted with its images, faces and encodings. Faces they answered get their labels derived
again from the decisions that remain, and those projects retrain.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update

from likeness.db import decisions as decision_rows
from likeness.db.schema import decisions, edits, faces, project_members, projects, users


@dataclass(frozen=True)
class Deleted:
    projects_deleted: int
    projects_handed_over: int
    decisions_deleted: int


def delete_account(conn: Connection, user_id: int) -> Deleted:
    deleted = handed = 0
    for project_id in conn.execute(select(projects.c.id).where(projects.c.owner_id == user_id)
                                   ).scalars().all():
        heir = conn.execute(
            select(project_members.c.user_id)
            .where(project_members.c.project_id == project_id,
                   project_members.c.user_id != user_id)
            .order_by(project_members.c.joined_at, project_members.c.user_id).limit(1)
        ).scalar_one_or_none()
        if heir is None:
            conn.execute(delete(projects).where(projects.c.id == project_id))
            deleted += 1
        else:
            conn.execute(update(projects).where(projects.c.id == project_id)
                         .values(owner_id=heir))
            conn.execute(update(project_members).where(
                project_members.c.project_id == project_id,
                project_members.c.user_id == heir).values(role="owner"))
            handed += 1
    answered = conn.execute(select(decisions.c.face_id, decisions.c.project_id)
                            .where(decisions.c.user_id == user_id).distinct()).all()
    n_decisions = conn.execute(delete(decisions).where(decisions.c.user_id == user_id)).rowcount
    # Their queued edits would have nobody's token to go out with.
    conn.execute(update(edits).where(edits.c.user_id == user_id, edits.c.state == "pending")
                 .values(state="cancelled", error_message="the sender deleted their account"))
    conn.execute(delete(users).where(users.c.id == user_id))  # memberships cascade
    for face_id, _project_id in answered:
        label, labelled_at = decision_rows.current_label(conn, face_id)
        conn.execute(update(faces).where(faces.c.id == face_id)
                     .values(label=label, labelled_at=labelled_at))
    for project_id in {project_id for _face, project_id in answered}:
        decision_rows.request_training(conn, project_id)
    return Deleted(deleted, handed, n_decisions)
