"""JSON shapes of the API (documented in webapp/openapi/projects.yaml)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from likeness.db.invites import Invite
from likeness.db.leaderboard import Entry
from likeness.db.members import Member
from likeness.db.projects import Project, ProjectSummary
from likeness.db.sources import Source


def iso(value: dt.datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() + "Z" if value else None


def project_json(project: Project, role: str | None = None) -> dict[str, Any]:
    return {
        "id": project.id, "qid": project.qid, "label": project.label,
        "description": project.description, "reference_file": project.reference_file,
        "category": project.category, "depth": project.depth, "threshold": project.threshold,
        "status": project.status, "share_knowledge": project.share_knowledge,
        "seed_outside_tree": project.seed_outside_tree,
        "add_region_to_existing": project.add_region_to_existing,
        "members_can_send": project.members_can_send, "role": role,
        "created_at": iso(project.created_at), "last_crawled_at": iso(project.last_crawled_at),
    }


def source_json(source: Source) -> dict[str, Any]:
    return {"kind": source.kind, "added_at": iso(source.added_at),
            "last_run_at": iso(source.last_run_at), "last_listed": source.last_listed,
            "last_new": source.last_new, "capped": source.capped}


def summary_json(summary: ProjectSummary) -> dict[str, Any]:
    data = project_json(summary.project, summary.role)
    data["progress"] = {
        "images_total": summary.images_total, "images_done": summary.images_done,
        "faces_total": summary.faces_total, "faces_labelled": summary.faces_labelled,
    }
    return data


def member_json(member: Member) -> dict[str, Any]:
    return {"user_id": member.user_id, "username": member.username, "role": member.role,
            "joined_at": iso(member.joined_at)}


def invite_json(invite: Invite) -> dict[str, Any]:
    return {"id": invite.id, "hint": invite.hint, "role": invite.role,
            "created_at": iso(invite.created_at), "expires_at": iso(invite.expires_at),
            "uses_left": invite.uses_left, "revoked_at": iso(invite.revoked_at),
            "state": invite.state()}


def entry_json(entry: Entry) -> dict[str, Any]:
    return {"rank": entry.rank, "user_id": entry.user_id, "username": entry.username,
            "faces": entry.faces}
