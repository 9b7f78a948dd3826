"""Send one queued edit to Commons, exactly once, with the sender's own OAuth token.

Order of work for one edit (see likeness/db/edits.py for the states):

1. claim it: 'sending' with a lease, committed before any HTTP request;
2. read the live MediaInfo (always, so an edit interrupted by a crash is reconciled here:
   a P180=qid statement carrying our region after an earlier attempt is recorded as ours);
3. decide: add (wbeditentity, P180 with its P2677 qualifier and its rank in one revision:
   "preferred" when the face is the photo's main subject, likeness.edits.rank), qualify
   (wbsetqualifier on an existing P180=qid without region, only if the project enabled it;
   its rank is never touched), skip (already depicted, by P180=qid or by an item about the
   person: a portrait's, a statue's; or the file page is protected), or remove
   (wbremoveclaims, only our own unchanged statement);
4. POST once; record revision id, statement id and the statement as written.

Failures are mapped by ``likeness.wiki.errors.classify``: maxlag/throttling postpone the edit
(next_try_at from Retry-After; the worker never sleeps for it), badtoken fetches a new CSRF
token (bounded), a rejected OAuth token is refreshed once, an edit conflict re-reads once, an
unknown POST outcome is re-read later, anything else fails this edit only. When to try again
is decided by the one ``likeness.retry.RetryPolicy``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine

from likeness.config import Config
from likeness.db import edits as edit_rows
from likeness.db import faces_store
from likeness.db.edits import ConfirmedFace, Edit
from likeness.db.schema import utcnow
from likeness.edits.plan import choose_face
from likeness.edits.rank import rank_for
from likeness.faces.types import Box
from likeness.retry import Failure, RetryPolicy
from likeness.tokens import LoginRequired, OAuthUnavailable, fresh_access_token
from likeness.wiki import writes
from likeness.wiki.api import ActionApi
from likeness.wiki.commons import MediaInfo, edit_protections, get_mediainfo
from likeness.wiki.errors import (
    NewCsrfToken,
    Permanent,
    RefreshToken,
    Reread,
    ResponseFormatError,
    RetryLater,
    TransportError,
    WikiError,
    classify,
)
from likeness.wiki.factory import SENDER, make_clients
from likeness.wiki.statements import DEPICTS, REGION, Statement
from likeness.wiki.wikidata import items_about

log = logging.getLogger("likeness.edits")

UNKNOWN_OUTCOME_WAIT = 60.0   # a POST whose answer was lost: re-read once the server settled
OAUTH_DOWN_WAIT = 120.0
READ_PACE = 1.0              # seconds after an edit that only read the entity
MAX_ROUNDS = 8                # bound on read/write rounds for one claim, whatever happens
LOGIN_AGAIN = ("Wikimedia no longer accepts this account's login for this tool; "
               "log in again, then press 'Retry failed'.")

ApiFactory = Callable[[str], ActionApi]


@dataclass
class Sender:
    """Sends edits for one worker. ``api_for(access_token)`` builds the Commons client."""

    engine: Engine
    cfg: Config
    owner: str
    api_for: ApiFactory | None = None
    lease_seconds: int = 0
    stats: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.lease_seconds:
            self.lease_seconds = self.cfg.worker.lease_seconds

    def client(self, access_token: str) -> ActionApi:
        """The Commons client for ``access_token`` (``api_for``, else the configured one)."""
        if self.api_for is not None:
            return self.api_for(access_token)
        return commons_api(self.cfg, access_token)

    @property
    def policy(self) -> RetryPolicy:
        """The worker's retry policy, with the sender's own attempt limit (an edit is re-read
        before every attempt, so trying longer is safe)."""
        return RetryPolicy(edit_rows.MAX_SEND_ATTEMPTS, self.cfg.worker.retry_base_seconds)

    # --- entry points -------------------------------------------------------------------------

    def send_next(self) -> bool:
        """Claim and send one ready edit; False when none is ready."""
        with self.engine.begin() as conn:
            edit = edit_rows.claim_next(conn, self.owner, self.lease_seconds)
        if edit is None:
            return False
        self.send(edit)
        return True

    def send(self, edit: Edit) -> str:
        """Send a claimed edit; returns the state it ended in (for logs and tests)."""
        ctx = {"edit": edit.id, "page": edit.page_id, "qid": edit.qid, "action": edit.action,
               "project": edit.project_id, "attempt": edit.attempts}
        try:
            state = _Attempt(self, edit).run()
        except Exception as exc:  # our bug or the database: fail this edit, keep the others
            log.exception("edit.crashed", extra=ctx)
            state = self._fail(edit, "internal", f"{type(exc).__name__}: {exc}", True)
        self.stats[state] = self.stats.get(state, 0) + 1
        log.info("edit.%s", state, extra=ctx)
        return state

    # --- recording (each in its own short transaction) ----------------------------------------

    def _fail(self, edit: Edit, code: str, message: str, retryable: bool,
              wrote: bool = False, whole_queue: bool = False) -> str:
        """Record the failure; ``whole_queue`` also fails the sender's other queued edits (their
        login is gone or they are blocked: every one of them would fail the same way)."""
        with self.engine.begin() as conn:
            edit_rows.mark_failed(conn, edit.id, self.owner, code=code, message=message,
                                  retryable=retryable, pace_seconds=self._pace(wrote))
            if whole_queue and edit.user_id is not None:
                edit_rows.fail_user_pending(conn, edit.user_id, code=code, message=message)
        return "failed"

    def _pace(self, wrote: bool) -> float:
        """Full pace after a write; a short one after a read-only outcome (skip, reconcile), so
        a long run of skips does not turn into a burst of reads."""
        pace = self.cfg.edits.pace_seconds
        return pace if wrote else min(pace, READ_PACE)


class _Attempt:
    """The work for one claim of one edit: a bounded loop of read, decide, write."""

    def __init__(self, sender: Sender, edit: Edit) -> None:
        self.s = sender
        self.edit = edit
        self.csrf: str | None = None
        self.badtokens = 0
        self.refreshed = False
        self.conflicts = 0
        self.wrote = False       # a POST was sent in this claim (pace the next one)

    def run(self) -> str:
        edit, s = self.edit, self.s
        if edit.user_id is None:
            return s._fail(edit, "no_sender", "The account that asked for this edit is gone.",
                           False)
        try:
            self.api = s.client(fresh_access_token(s.engine, s.cfg, edit.user_id))
        except LoginRequired as exc:
            return s._fail(edit, "login_required", f"{LOGIN_AGAIN} ({exc})", False,
                           whole_queue=True)
        except OAuthUnavailable as exc:
            return self._postpone(OAUTH_DOWN_WAIT, "oauth_unavailable", str(exc))
        for _ in range(MAX_ROUNDS):
            try:
                return self._round()
            except WikiError as exc:
                state = self._handle(exc)
                if state is not None:
                    return state
        return self._postpone(UNKNOWN_OUTCOME_WAIT, "too_many_rounds",
                              "Gave up on this attempt after repeated retries.")

    # --- one round: read, decide, maybe write -------------------------------------------------

    def _round(self) -> str:
        edit = self.edit
        live = get_mediainfo(self.api, [edit.entity_id]).get(edit.entity_id)
        entity = live if isinstance(live, MediaInfo) else None
        if edit.action == "remove":
            return self._remove(entity)
        return self._add_or_qualify(entity)

    def _add_or_qualify(self, entity: MediaInfo | None) -> str:
        edit = self.edit
        matching = [st for st in (entity.depicts() if entity else []) if st.value_qid == edit.qid]
        ours = [st for st in matching if st.region == edit.region]
        if ours and edit.attempts > 1:
            # An earlier attempt may have written it and died before recording: reconcile.
            created = edit.action == "add"
            return self._done(ours[0], None, created, "Found on Commons after an interrupted "
                              "send; recorded without writing again.", action=edit.action)
        if matching:
            with_region = [st for st in matching if st.region]
            if with_region:
                return self._skip("already_depicted", f"The file already has P180={edit.qid} "
                                  "with a region.", with_region[0].id)
            project = self._project()
            if project is None or not project.add_region_to_existing:
                return self._skip("already_depicted", f"The file already has P180={edit.qid}"
                                  " (adding regions to existing statements is off).",
                                  matching[0].id)
            if not self._face_still_confirmed():
                return self._cancelled()
            return self._unless_protected() or self._qualify(entity, matching[0])
        about = self._depicted_more_specifically(entity)
        if about:
            return self._skip("depicted_more_specifically", f"The file already depicts {about}, "
                              f"an item about {edit.qid} (a portrait, a statue...), so "
                              f"P180={edit.qid} would repeat it.", None)
        if not self._face_still_confirmed():
            return self._cancelled()
        return self._unless_protected() or self._add(entity)

    def _unless_protected(self) -> str | None:
        """Skips the edit when the file page is edit-protected (one read before a write):
        such files are left to people editing by hand."""
        levels = edit_protections(self.api, [self.edit.page_id]).get(self.edit.page_id)
        if not levels:
            return None
        return self._skip("protected", f"The file page is protected ({', '.join(levels)}); "
                          "protected files are left to people editing by hand.", None)

    def _depicted_more_specifically(self, entity: MediaInfo | None) -> str | None:
        """The file's first other depicted item whose own item depicts, is mainly about or
        commemorates the person (one Wikidata read, only when there are other items)."""
        others = sorted(q for q in (entity.depicts_qids() if entity else set())
                        if q != self.edit.qid)
        if not others:
            return None
        wikidata = make_clients(self.s.cfg, use=SENDER).wikidata
        about = items_about(wikidata, others, self.edit.qid)
        return about[0] if about else None

    def _add(self, entity: MediaInfo | None) -> str:
        edit = self.edit
        rank = self._rank()
        if not self._before_write("add"):
            return "lost"
        summary = edit_summary(self.s.cfg, "add", edit, self._label())
        revid, guid = self._post(lambda token: writes.add_depicts(
            self.api, edit.entity_id, edit.qid, edit.region, summary, token,
            entity.lastrevid if entity else None, tags=self.s.cfg.edits.tags, rank=rank))
        stmt = Statement(guid, DEPICTS, edit.qid, {REGION: [edit.region]} if edit.region else {},
                         rank)
        return self._done(stmt, revid, True)

    def _rank(self) -> str:
        """Preferred when the face is the photo's main subject (likeness.edits.rank)."""
        with self.s.engine.connect() as conn:
            boxes = faces_store.boxes_on_image(conn, self.edit.face_id) \
                if self.edit.face_id is not None else None
        return rank_for(*boxes) if boxes else "normal"

    def _qualify(self, entity: MediaInfo | None, target: Statement) -> str:
        edit = self.edit
        region = edit.region
        if not region:
            return self._skip("already_depicted", f"The file already has P180={edit.qid}.",
                              target.id)
        if not self._before_write("qualify"):
            return "lost"
        summary = edit_summary(self.s.cfg, "qualify", edit, self._label())
        revid = self._post(lambda token: writes.add_region_qualifier(
            self.api, target.id, region, summary, token,
            entity.lastrevid if entity else None, tags=self.s.cfg.edits.tags))
        quals = {**target.qualifiers, REGION: [region]}
        stmt = Statement(target.id, DEPICTS, edit.qid, quals, target.rank)
        return self._done(stmt, revid, False, action="qualify")

    def _remove(self, entity: MediaInfo | None) -> str:
        edit = self.edit
        live = _find(entity, edit.statement_id)
        if live is None:
            return self._done_remove(None, "The statement was already gone; nothing to remove.")
        written = json.loads(edit.written_json) if edit.written_json else None
        if written is None or snapshot(live) != _comparable(written):
            return self._skip("changed_since", "Someone changed this statement after we wrote "
                              "it, so it was left in place.", live.id, action="remove")
        if not self._before_write("remove"):
            return "lost"
        summary = edit_summary(self.s.cfg, "remove", edit, self._label())
        revid = self._post(lambda token: writes.remove_statement(
            self.api, live.id, summary, token, entity.lastrevid if entity else None,
            tags=self.s.cfg.edits.tags))
        return self._done_remove(revid, None)

    # --- writing ------------------------------------------------------------------------------

    def _post(self, send: Callable[[str], Any]) -> Any:
        if self.csrf is None:
            self.csrf = writes.csrf_token(self.api)
        self.wrote = True
        return send(self.csrf)

    def _before_write(self, action: str) -> bool:
        """Keep the lease and record the chosen action before the POST (for reconciling)."""
        with self.s.engine.begin() as conn:
            if not edit_rows.renew(conn, self.edit.id, self.s.owner, self.s.lease_seconds):
                log.warning("edit.lease_lost", extra={"edit": self.edit.id})
                return False
            edit_rows.set_action(conn, self.edit.id, self.s.owner, action)
        return True

    # --- outcomes -----------------------------------------------------------------------------

    def _handle(self, exc: WikiError) -> str | None:
        """What a failed call means; None to run another round."""
        outcome = classify(exc)
        code = getattr(exc, "code", type(exc).__name__)
        if self.wrote and isinstance(exc, ResponseFormatError | TransportError):
            # The POST may have been applied: decide again after a fresh read, later.
            return self._postpone(UNKNOWN_OUTCOME_WAIT, "unknown_outcome", str(exc)[:300])
        if isinstance(outcome, RetryLater):
            return self._postpone(outcome.seconds, str(code), outcome.reason, throttle=True)
        if isinstance(outcome, NewCsrfToken):
            self.badtokens += 1
            self.csrf = None
            if self.badtokens > self.s.cfg.edits.max_badtoken_retries:
                return self.s._fail(self.edit, "badtoken", "The CSRF token was refused again "
                                    "after fetching a new one.", True, self.wrote)
            return None
        if isinstance(outcome, RefreshToken):
            if self.refreshed:
                return self.s._fail(self.edit, "login_required", LOGIN_AGAIN, False, self.wrote,
                                    whole_queue=True)
            self.refreshed = True
            self.csrf = None
            try:
                token = fresh_access_token(self.s.engine, self.s.cfg, self.edit.user_id or 0,
                                           margin=10**9)  # force: the server refused it
            except LoginRequired as err:
                return self.s._fail(self.edit, "login_required", f"{LOGIN_AGAIN} ({err})", False,
                                    self.wrote, whole_queue=True)
            except OAuthUnavailable as err:
                return self._postpone(OAUTH_DOWN_WAIT, "oauth_unavailable", str(err))
            self.api = self.s.client(token)
            return None
        if isinstance(outcome, Reread):
            if code == "editconflict" and self.conflicts < 1:
                self.conflicts += 1
                return None   # the next round re-reads the entity and decides again
            return self._postpone(UNKNOWN_OUTCOME_WAIT, str(code), outcome.reason)
        assert isinstance(outcome, Permanent)
        blocked = "blockedtext" in getattr(exc, "messages", ()) or code in ("blocked",
                                                                           "autoblocked")
        return self.s._fail(self.edit, outcome.code, outcome.info or str(exc),
                            False, self.wrote, whole_queue=blocked)

    def _postpone(self, seconds: float, code: str, message: str,
                  throttle: bool = False) -> str:
        """Try again later, as the one retry policy says: a throttle after the wait the server
        asked for, however often; anything else with backoff, until the attempt limit."""
        edit, s = self.edit, self.s
        failure = Failure(code, message, True, retry_after=seconds, throttle=throttle)
        retry_at = s.policy.next_try(edit.attempts, failure, utcnow())
        if retry_at is None:
            return s._fail(edit, code, f"Gave up after {edit.attempts} attempts: {message}", True,
                           self.wrote)
        with s.engine.begin() as conn:
            edit_rows.postpone(conn, edit.id, s.owner, until=retry_at, code=code,
                               message=message)
        return "postponed"

    def _done(self, stmt: Statement, revid: int | None, created: bool,
              note: str | None = None, action: str = "add") -> str:
        with self.s.engine.begin() as conn:
            edit_rows.mark_done(conn, self.edit.id, self.s.owner, action=action,
                                statement_id=stmt.id, revision_id=revid,
                                written_json=json.dumps(snapshot(stmt), sort_keys=True),
                                created_statement=created, note=note,
                                pace_seconds=self.s._pace(self.wrote))
        return "done"

    def _done_remove(self, revid: int | None, note: str | None) -> str:
        with self.s.engine.begin() as conn:
            edit_rows.mark_done(conn, self.edit.id, self.s.owner, action="remove",
                                statement_id=self.edit.statement_id, revision_id=revid,
                                written_json=None, created_statement=True, note=note,
                                pace_seconds=self.s._pace(self.wrote))
        return "done"

    def _skip(self, code: str, message: str, statement_id: str | None,
              action: str | None = None) -> str:
        with self.s.engine.begin() as conn:
            edit_rows.mark_skipped(conn, self.edit.id, self.s.owner, code=code, message=message,
                                   statement_id=statement_id, action=action,
                                   pace_seconds=self.s._pace(self.wrote))
        return "skipped"

    def _cancelled(self) -> str:
        with self.s.engine.begin() as conn:
            edit_rows.cancel(conn, self.edit.id, self.s.owner,
                             message="The face was rejected before the edit was sent.")
        return "cancelled"

    # --- lookups ------------------------------------------------------------------------------

    def _project(self) -> Any:
        if self.edit.project_id is None:
            return None
        with self.s.engine.connect() as conn:
            return edit_rows.project_settings(conn, self.edit.project_id)

    def _label(self) -> str:
        project = self._project()
        return project.label if project is not None else self.edit.qid

    def _face_still_confirmed(self) -> bool:
        """Re-check at send time: a face rejected since queueing is never written; another
        confirmed face of the same person on the file takes its place, but only one the sender
        may write (``trusted_face``)."""
        edit = self.edit
        with self.s.engine.begin() as conn:
            if edit_rows.face_label(conn, edit.face_id) == "yes":
                return True
            best = trusted_face(conn, edit)
            if best is None:
                return False
            region = Box(*best.box).to_iiif()
            edit_rows.switch_face(conn, edit.id, self.s.owner, best.face_id, region)
        self.edit = replace(edit, face_id=best.face_id, region=region)
        return True


def trusted_face(conn: Any, edit: Edit) -> ConfirmedFace | None:
    """The face to write instead of a rejected one: the largest confirmed face of the person on
    the file from a project whose decisions the sender may write (their own projects, or ones
    sharing knowledge with this one); never an outsider's answer in a project of hers."""
    if edit.user_id is None:
        return None
    return choose_face(edit_rows.confirmed_faces_for_pair(conn, edit.page_id, edit.qid,
                                                          edit.user_id, edit.project_id))


# --- statements as written, for "unchanged since" --------------------------------------------

def snapshot(stmt: Statement) -> dict[str, Any]:
    """What we compare to tell whether a statement changed: value, qualifiers, rank."""
    return {
        "id": stmt.id,
        "property": stmt.property,
        "value": stmt.value_qid,
        "qualifiers": {p: sorted(json.dumps(v, sort_keys=True) for v in vals)
                       for p, vals in sorted(stmt.qualifiers.items())},
        "rank": stmt.rank,
    }


def _comparable(written: dict[str, Any]) -> dict[str, Any]:
    return {k: written.get(k) for k in ("id", "property", "value", "qualifiers", "rank")}


def _find(entity: MediaInfo | None, guid: str | None) -> Statement | None:
    if entity is None or not guid:
        return None
    for stmts in entity.statements.values():
        for stmt in stmts:
            if stmt.id == guid:
                return stmt
    return None


# --- summaries and the client -----------------------------------------------------------------

EDITGROUPS_PREFIX = ":toolforge:editgroups-commons/b/CB/"


def edit_summary(cfg: Config, action: str, edit: Edit, label: str) -> str:
    """Names the tool, links the project and the EditGroups batch (custom-batch 'CB' form, which
    EditGroups for Commons picks up without registering the tool)."""
    label = label.replace("|", "-").replace("]", ")").replace("[", "(")[:100] or edit.qid
    item = f"[[d:{edit.qid}|{label}]]"
    verb = {"add": f"depicts {item} with face region",
            "qualify": f"face region for depicts {item}",
            "remove": f"remove depicts {item} it added earlier"}[action]
    parts = [f"{cfg.edits.summary_prefix}: {verb}"]
    if edit.project_id is not None:
        parts.append(f"({project_link(cfg, edit.project_id)})")
    if edit.batch_id:
        parts.append(f"([[{EDITGROUPS_PREFIX}{edit.batch_id}|details]])")
    return " ".join(parts)[:480]


def project_link(cfg: Config, project_id: int) -> str:
    url = cfg.app.url.rstrip("/") + f"/projects/{project_id}"
    host = urlsplit(cfg.app.url).netloc
    if host.endswith(".toolforge.org"):
        tool = host.split(".", 1)[0]
        return f"[[toolforge:{tool}/projects/{project_id}|project {project_id}]]"
    return f"[{url} project {project_id}]"


def commons_api(cfg: Config, access_token: str) -> ActionApi:
    """A Commons client for one user's token. Short GET retries: the worker loop must keep
    beating, and every POST is sent once (the edit is re-read and retried later instead)."""
    return make_clients(cfg, access_token, use=SENDER).commons
