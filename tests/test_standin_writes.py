"""Write semantics the tool's writer is tested against: tokens, asserts, revisions, conflicts,
permissions, tags, and that a later read (and search) sees each write."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from standin import Catalog, StandIn

TESTER = "Likeness Tester"
GUID = re.compile(r"^M\d+\$[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")


class Wiki:
    """A minimal client: Bearer token, CSRF token from meta=tokens, form-encoded POSTs."""

    def __init__(self, s: StandIn, user: str | None = TESTER, grants: list[str] | None = None):
        self.s = s
        self.http = requests.Session()
        if user:
            self.http.headers["Authorization"] = f"Bearer {s.issue_token(user, grants)}"
        self.api = s.urls.api("commons")

    def get(self, **params: Any) -> dict[str, Any]:
        return self.http.get(self.api, params={"format": "json", **params}, timeout=5).json()

    def csrf(self) -> str:
        return self.get(action="query", meta="tokens")["query"]["tokens"]["csrftoken"]

    def post(self, action: str, token: str | None = None, **params: Any) -> dict[str, Any]:
        form = {"action": action, "format": "json", "formatversion": "2",
                "token": token if token is not None else self.csrf(), **params}
        return self.http.post(self.api, data=form, timeout=5).json()

    def depicts(self, mid: str, qid: str, **params: Any) -> dict[str, Any]:
        value = json.dumps({"entity-type": "item", "numeric-id": int(qid[1:])})
        return self.post("wbcreateclaim", entity=mid, property="P180", snaktype="value",
                         value=value, **params)

    def entity(self, mid: str) -> dict[str, Any]:
        return self.get(action="wbgetentities", ids=mid)["entities"][mid]


@pytest.fixture
def wiki(standin: StandIn) -> Wiki:
    return Wiki(standin)


@pytest.fixture
def fresh(standin_catalog: Catalog) -> str:
    """The M-id of a file that has no structured data yet."""
    return f"M{standin_catalog.files_without_sdc()[0].pageid}"


@pytest.fixture
def qid(standin_catalog: Catalog) -> str:
    return standin_catalog.person("bill_gates").qid


def test_create_claim_creates_mediainfo_and_bumps_the_revision(
        standin: StandIn, wiki: Wiki, fresh: str, qid: str) -> None:
    assert wiki.entity(fresh) == {"id": fresh, "missing": ""}
    before = standin.world.entity(fresh).lastrevid
    result = wiki.depicts(fresh, qid, summary="depicts via Likeness", tags="likeness",
                          maxlag=5, bot=1, **{"assert": "user"})
    assert result["success"] == 1
    claim = result["claim"]
    assert GUID.match(claim["id"]) and claim["id"].startswith(f"{fresh}$")
    assert re.fullmatch(r"[0-9a-f]{40}", claim["mainsnak"]["hash"])
    assert "datatype" not in claim["mainsnak"]
    assert result["pageinfo"]["lastrevid"] > before

    ent = wiki.entity(fresh)
    assert ent["lastrevid"] == result["pageinfo"]["lastrevid"]
    assert ent["statements"]["P180"][0]["mainsnak"]["datavalue"]["value"]["id"] == qid
    [edit] = standin.edits(entity=fresh)
    assert edit["user"] == TESTER and edit["action"] == "wbcreateclaim"
    assert edit["summary"] == "depicts via Likeness" and edit["tags"] == ["likeness"]
    assert edit["old_revid"] == before and edit["new_revid"] == ent["lastrevid"]
    assert edit["statements"] == [claim["id"]] and edit["bot"] is True


def test_qualifier_added_then_replaced_by_snakhash(wiki: Wiki, fresh: str, qid: str) -> None:
    guid = wiki.depicts(fresh, qid)["claim"]["id"]
    first = wiki.post("wbsetqualifier", claim=guid, property="P2677", snaktype="value",
                      value='"pct:10,20,30,40"')
    quals = first["claim"]["qualifiers"]["P2677"]
    assert quals[0]["datavalue"] == {"value": "pct:10,20,30,40", "type": "string"}
    assert first["claim"]["qualifiers-order"] == ["P2677"]
    second = wiki.post("wbsetqualifier", claim=guid, property="P2677", snaktype="value",
                       value='"pct:11,21,30,40"', snakhash=quals[0]["hash"])
    assert second["pageinfo"]["lastrevid"] > first["pageinfo"]["lastrevid"]
    stored = wiki.entity(fresh)["statements"]["P180"][0]["qualifiers"]["P2677"]
    assert [q["datavalue"]["value"] for q in stored] == ["pct:11,21,30,40"]
    missing = wiki.post("wbsetqualifier", claim=guid, property="P2677", snaktype="value",
                        value='"pct:1,1,1,1"', snakhash="0" * 40)
    assert missing["error"]["code"] == "no-such-qualifier"


def test_editentity_writes_p180_with_region_in_one_revision(
        standin: StandIn, wiki: Wiki, standin_catalog: Catalog, qid: str) -> None:
    title = standin_catalog.files_without_sdc()[1].title
    data = {"claims": [{"mainsnak": {"snaktype": "value", "property": "P180", "datavalue": {
        "type": "wikibase-entityid", "value": {"entity-type": "item", "id": qid}}},
        "type": "statement", "rank": "normal",
        "qualifiers": {"P2677": [{"snaktype": "value", "property": "P2677",
                                  "datavalue": {"type": "string", "value": "pct:1,2,3,4"}}]},
        "qualifiers-order": ["P2677"]}]}
    result = wiki.post("wbeditentity", site="commonswiki", title=title, data=json.dumps(data))
    entity = result["entity"]
    assert set(entity) == {"type", "id", "labels", "descriptions", "statements", "lastrevid"}
    stmt = entity["statements"]["P180"][0]
    assert stmt["qualifiers"]["P2677"][0]["datavalue"]["value"] == "pct:1,2,3,4"
    assert len(standin.edits(entity=entity["id"])) == 1
    again = wiki.post("wbeditentity", id=entity["id"], data=json.dumps({"claims": []}))
    assert "nochange" in again["entity"]
    assert again["entity"]["lastrevid"] == entity["lastrevid"]


def test_remove_claims(standin: StandIn, wiki: Wiki, fresh: str, qid: str) -> None:
    guid = wiki.depicts(fresh, qid)["claim"]["id"]
    result = wiki.post("wbremoveclaims", claim=guid)
    assert result["claims"] == [guid] and result["success"] == 1
    assert wiki.entity(fresh)["statements"] == []
    assert wiki.post("wbremoveclaims", claim=guid)["error"]["code"] == "no-such-claim"
    assert wiki.post("wbremoveclaims", claim="M1$nonsense")["error"]["code"] == "invalid-guid"
    assert [e["action"] for e in standin.edits(entity=fresh)] == ["wbcreateclaim",
                                                                  "wbremoveclaims"]


def test_bad_and_foreign_csrf_tokens(standin: StandIn, wiki: Wiki, fresh: str,
                                     qid: str) -> None:
    other = Wiki(standin, "Zoë Reviewer").csrf()
    assert wiki.depicts(fresh, qid, token=other)["error"]["code"] == "badtoken"
    old = wiki.csrf()
    standin.rotate_csrf()
    assert wiki.depicts(fresh, qid, token=old)["error"]["code"] == "badtoken"
    assert "error" not in wiki.depicts(fresh, qid)
    assert len(standin.edits()) == 1


def test_anonymous_writes_and_assert_user(standin: StandIn, fresh: str, qid: str) -> None:
    anon = Wiki(standin, user=None)
    assert anon.csrf() == "+\\"
    refused = anon.depicts(fresh, qid, **{"assert": "user"})
    assert refused["error"]["code"] == "assertuserfailed"
    assert standin.edits() == []
    # Without assert=user, Commons takes the edit as an IP edit: exactly what the tool avoids.
    assert anon.depicts(fresh, qid)["success"] == 1
    assert standin.edits()[0]["anonymous"] is True


def test_writes_must_be_posted_with_the_token_in_the_body(wiki: Wiki, fresh: str) -> None:
    got = wiki.get(action="wbcreateclaim", entity=fresh, property="P180", snaktype="value",
                   value="{}", token=wiki.csrf())
    assert got["error"]["code"] == "mustbeposted"
    resp = wiki.http.post(wiki.api, params={"token": wiki.csrf()}, timeout=5, data={
        "action": "wbcreateclaim", "entity": fresh, "format": "json"}).json()
    assert resp["error"]["code"] == "mustposttoken"


def test_stale_baserevid_conflicts_only_when_the_same_statement_changed(
        standin: StandIn, wiki: Wiki, fresh: str, qid: str) -> None:
    guid = wiki.depicts(fresh, qid)["claim"]["id"]
    base = wiki.entity(fresh)["lastrevid"]
    wiki.post("wbsetqualifier", claim=guid, property="P2677", snaktype="value",
              value='"pct:1,1,5,5"')
    # Another statement: Wikibase patches the change in, no conflict.
    other = wiki.depicts(fresh, standin.catalog.person("joseph_biden").qid, baserevid=base)
    assert other["success"] == 1
    # The statement changed since base: edit conflict.
    conflict = wiki.post("wbremoveclaims", claim=guid, baserevid=base)
    assert conflict["error"]["code"] == "editconflict"
    assert wiki.depicts(fresh, qid, baserevid=111)["error"]["code"] == "editconflict"
    standin.configure(conflict_policy="strict")
    assert wiki.depicts(fresh, qid, baserevid=base)["error"]["code"] == "editconflict"
    current = wiki.entity(fresh)["lastrevid"]
    assert wiki.depicts(fresh, qid, baserevid=current)["success"] == 1


def test_permission_denied_for_blocked_users_and_missing_grants(
        standin: StandIn, fresh: str, qid: str) -> None:
    blocked = Wiki(standin, "Blocked Tester").depicts(fresh, qid)
    assert blocked["error"]["code"] == "permissiondenied"
    assert blocked["error"]["messages"][0]["name"] == "blockedtext"
    basic_only = Wiki(standin, TESTER, grants=["basic"]).depicts(fresh, qid)
    assert basic_only["error"]["code"] == "permissiondenied"
    assert standin.edits() == []


def test_tags_must_be_registered(wiki: Wiki, fresh: str, qid: str) -> None:
    refused = wiki.depicts(fresh, qid, tags="my-unregistered-tag")
    assert refused["error"]["code"] == "badtags"
    assert wiki.depicts(fresh, qid, tags="likeness")["success"] == 1


def test_depicts_value_must_be_an_existing_item(wiki: Wiki, fresh: str) -> None:
    refused = wiki.depicts(fresh, "Q424242424")
    assert refused["error"]["code"] == "modification-failed"
    assert wiki.entity(fresh) == {"id": fresh, "missing": ""}


def test_search_sees_writes_unless_frozen(standin: StandIn, wiki: Wiki, fresh: str,
                                          qid: str) -> None:
    def hits() -> set[int]:
        body = wiki.get(action="query", list="search", srnamespace=6, srlimit=50,
                        srsearch=f"haswbstatement:P180={qid}")
        return {h["pageid"] for h in body["query"]["search"]}

    pageid = int(fresh[1:])
    assert pageid not in hits()
    standin.world.freeze_search()            # the index lags behind edits
    wiki.depicts(fresh, qid)
    assert pageid not in hits()
    standin.world.thaw_search()
    assert pageid in hits()


def test_wbgetclaims_reads_back_for_duplicate_checks(wiki: Wiki, fresh: str, qid: str) -> None:
    assert wiki.get(action="wbgetclaims", entity=fresh, property="P180") == {"claims": {}}
    guid = wiki.depicts(fresh, qid)["claim"]["id"]
    claims = wiki.get(action="wbgetclaims", entity=fresh, property="P180")["claims"]
    assert [c["id"] for c in claims["P180"]] == [guid]
    assert wiki.get(action="wbgetclaims", claim=guid)["claims"]["P180"][0]["id"] == guid


def test_concurrent_writes_each_get_their_own_revision(standin: StandIn, fresh: str,
                                                       qid: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    clients = [Wiki(standin) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: clients[i % 4].depicts(fresh, qid), range(16)))
    revids = [r["pageinfo"]["lastrevid"] for r in results]
    assert len(set(revids)) == 16
    assert len(clients[0].entity(fresh)["statements"]["P180"]) == 16
    assert sorted(e["new_revid"] for e in standin.edits(entity=fresh)) == sorted(revids)


def test_editentity_clear_needs_the_current_revision(wiki: Wiki, fresh: str, qid: str) -> None:
    wiki.depicts(fresh, qid)
    base = wiki.entity(fresh)["lastrevid"]
    wiki.depicts(fresh, qid)
    stale = wiki.post("wbeditentity", id=fresh, clear=1, baserevid=base, data="{}")
    assert stale["error"]["code"] == "editconflict"
    current = wiki.entity(fresh)["lastrevid"]
    cleared = wiki.post("wbeditentity", id=fresh, clear=1, baserevid=current, data="{}")
    assert cleared["entity"]["statements"] == []
    bad = wiki.post("wbeditentity", id=fresh, data="{not json")
    assert bad["error"]["code"] == "invalid-json"


def test_rate_limit_throttles_fast_writers(standin: StandIn, wiki: Wiki, fresh: str,
                                           qid: str) -> None:
    standin.configure(edit_rate_per_minute=2)
    assert wiki.depicts(fresh, qid)["success"] == 1
    assert wiki.depicts(fresh, qid)["success"] == 1
    throttled = wiki.depicts(fresh, qid)["error"]
    assert throttled["code"] == "failed-save"
    assert throttled["messages"][0]["name"] == "actionthrottledtext"
    assert Wiki(standin, "Zoë Reviewer").depicts(fresh, qid)["success"] == 1   # per user
    standin.advance_clock(61)
    assert wiki.depicts(fresh, qid)["success"] == 1
