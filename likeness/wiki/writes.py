"""Thin, exact write calls to Commons structured data (the edit engine builds on these).

Every call is one POST (never retried here), with ``maxlag=5`` and ``assert=user`` added by
``ActionApi.post``, no ``bot`` flag, and the summary and tags exactly as given. Errors are raised
as ``ApiError``/``TransportError``; ``likeness.wiki.errors.classify`` says what to do next.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from likeness.faces.types import Box
from likeness.wiki.api import ActionApi
from likeness.wiki.errors import ApiError, ResponseFormatError
from likeness.wiki.statements import DEPICTS, REGION, check_mid, check_qid, parse_statements

T = TypeVar("T")

ANONYMOUS_TOKEN = "+\\"  # noqa: S105 (the public anonymous token, not a secret)
_GUID_RE = re.compile(r"^M[1-9][0-9]*\$[0-9A-Fa-f-]{36}$")


def csrf_token(api: ActionApi) -> str:
    """A CSRF token for the session's user. The anonymous token ``+\\`` means the session is
    not logged in; it is refused here (as ``anontoken``, classified RefreshToken) because a
    write with it can only fail."""
    doc = api.get({"action": "query", "meta": "tokens", "type": "csrf"})
    try:
        token = str(doc["query"]["tokens"]["csrftoken"])
    except (KeyError, TypeError) as exc:
        raise ResponseFormatError(f"no csrftoken in {doc!r:.200}") from exc
    if token == ANONYMOUS_TOKEN:
        raise ApiError("anontoken", "the API sees this session as anonymous")
    return token


def with_fresh_token(api: ActionApi, send: Callable[[str], T], token: str | None = None) -> T:
    """``send(token)``; on ``badtoken`` fetch a new token and call it ONCE more (WikiVisage
    looped forever). Any other error, or a second badtoken, is raised."""
    try:
        return send(token if token is not None else csrf_token(api))
    except ApiError as err:
        if err.code != "badtoken":
            raise
    return send(csrf_token(api))


RANKS = ("normal", "preferred")


def depicts_statement(qid: str, region_pct: str | None, rank: str = "normal") -> dict[str, Any]:
    """The statement JSON for ``P180 = qid`` with an optional ``P2677`` region qualifier, at
    ``rank`` ("preferred" is Commons' *prominent*)."""
    check_qid(qid)
    if rank not in RANKS:
        raise ValueError(f"rank must be one of {RANKS}, not {rank!r}")
    stmt: dict[str, Any] = {
        "mainsnak": {
            "snaktype": "value", "property": DEPICTS,
            "datavalue": {"type": "wikibase-entityid",
                          "value": {"entity-type": "item", "numeric-id": int(qid[1:]),
                                    "id": qid}},
        },
        "type": "statement",
        "rank": rank,
    }
    if region_pct is not None:
        Box.from_iiif(region_pct)  # a malformed region is never sent
        stmt["qualifiers"] = {REGION: [{"snaktype": "value", "property": REGION,
                                        "datavalue": {"type": "string", "value": region_pct}}]}
        stmt["qualifiers-order"] = [REGION]
    return stmt


def add_depicts(
    api: ActionApi,
    mid: str,
    qid: str,
    region_pct: str | None,
    summary: str,
    token: str,
    baserevid: int | None = None,
    *,
    tags: Sequence[str] = (),
    rank: str = "normal",
) -> tuple[int, str]:
    """Add ``P180 = qid`` (with its region and rank, in the same revision) to ``mid`` by
    wbeditentity. Works when the file has no MediaInfo yet (leave ``baserevid`` None then).
    Returns (new revision id, the new statement's GUID)."""
    check_mid(mid)
    data = {"claims": [depicts_statement(qid, region_pct, rank)]}
    doc = api.post(_write_params({
        "action": "wbeditentity", "id": mid,
        "data": json.dumps(data, separators=(",", ":")),
    }, summary, token, baserevid, tags))
    entity = doc.get("entity") or {}
    if "lastrevid" not in entity:
        raise ResponseFormatError(f"wbeditentity answer without entity.lastrevid: {doc!r:.300}",
                                  method="POST")
    # The answer echoes every statement; new ones are appended, so take the last match.
    matches = [s for s in parse_statements(entity.get("statements")).get(DEPICTS, [])
               if s.value_qid == qid and (region_pct is None or s.region == region_pct)]
    if not matches:
        raise ResponseFormatError(f"wbeditentity answer lacks the new P180={qid} statement",
                                  method="POST")
    return int(entity["lastrevid"]), matches[-1].id


def add_region_qualifier(
    api: ActionApi,
    statement_id: str,
    region_pct: str,
    summary: str,
    token: str,
    baserevid: int | None = None,
    *,
    snakhash: str | None = None,
    tags: Sequence[str] = (),
) -> int:
    """Add (or, with ``snakhash``, replace) the P2677 region of an existing statement by
    wbsetqualifier. Returns the new revision id."""
    _check_guid(statement_id)
    Box.from_iiif(region_pct)
    doc = api.post(_write_params({
        "action": "wbsetqualifier", "claim": statement_id, "property": REGION,
        "snaktype": "value", "value": json.dumps(region_pct), "snakhash": snakhash,
    }, summary, token, baserevid, tags))
    return _pageinfo_revid(doc, "wbsetqualifier")


def remove_statement(
    api: ActionApi,
    statement_id: str,
    summary: str,
    token: str,
    baserevid: int | None = None,
    *,
    tags: Sequence[str] = (),
) -> int:
    """Remove one statement by GUID (wbremoveclaims). Returns the new revision id. The caller
    must only remove statements this tool added (WikiVisage removed other editors' P180s)."""
    _check_guid(statement_id)
    doc = api.post(_write_params({"action": "wbremoveclaims", "claim": statement_id},
                                 summary, token, baserevid, tags))
    return _pageinfo_revid(doc, "wbremoveclaims")


def _write_params(params: dict[str, Any], summary: str, token: str,
                  baserevid: int | None, tags: Sequence[str]) -> dict[str, Any]:
    if not token or token == ANONYMOUS_TOKEN:
        raise ValueError("a logged-in CSRF token is required for writes")
    params = dict(params)
    params["summary"] = summary
    if tags:
        params["tags"] = list(tags)
    if baserevid is not None:
        params["baserevid"] = int(baserevid)
    params["token"] = token     # last, as MediaWiki recommends (a cut-off body then fails)
    return params


def _pageinfo_revid(doc: dict[str, Any], action: str) -> int:
    try:
        return int(doc["pageinfo"]["lastrevid"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ResponseFormatError(f"{action} answer without pageinfo.lastrevid: {doc!r:.300}",
                                  method="POST") from exc


def _check_guid(guid: str) -> str:
    if not isinstance(guid, str) or not _GUID_RE.match(guid):
        raise ValueError(f"not a MediaInfo statement id: {guid!r}")
    return guid
