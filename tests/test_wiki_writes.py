"""Write helpers against the stand-in: exact parameters, the resulting entity, and how each
failure is classified (badtoken once, lost login, stale baserevid, anonymous, blocked)."""

import json

import pytest

from likeness.config import load_config
from likeness.wiki.commons import MediaInfo, Missing, get_mediainfo
from likeness.wiki.errors import (
    ApiError,
    NewCsrfToken,
    Permanent,
    RefreshToken,
    Reread,
    RetryLater,
    classify,
)
from likeness.wiki.factory import make_clients
from likeness.wiki.writes import (
    add_depicts,
    add_region_qualifier,
    csrf_token,
    remove_statement,
    with_fresh_token,
)

TESTER = "Likeness Tester"
SUMMARY = ("Likeness: depicts [[d:Q1]] (batch 7) "
           "[[:toolforge:editgroups-commons/b/likeness/7|details]]")


@pytest.fixture
def cfg(standin):
    return load_config(path="/nonexistent/config.yaml", environ={},
                       overrides=standin.config_overrides())


@pytest.fixture
def commons(standin, cfg):
    return make_clients(cfg, standin.issue_token(TESTER)).commons


def _no_sdc_file(catalog):
    return catalog.files_without_sdc()[0]


def test_csrf_token_for_user_and_anonymous(standin, cfg, commons):
    assert csrf_token(commons) == standin.csrf_token(TESTER)
    anonymous = make_clients(cfg).commons
    with pytest.raises(ApiError) as info:
        csrf_token(anonymous)
    assert isinstance(classify(info.value), RefreshToken)


def test_add_depicts_with_region_creates_mediainfo(standin, standin_catalog, commons):
    f = _no_sdc_file(standin_catalog)
    mid = f"M{f.pageid}"
    qid = standin_catalog.person("bill_gates").qid
    assert get_mediainfo(commons, [mid])[mid] == Missing(mid)
    token = csrf_token(commons)
    revid, guid = add_depicts(commons, mid, qid, "pct:10,20,30,40", SUMMARY, token,
                              tags=["likeness"])
    assert guid.startswith(mid + "$")

    (post,) = standin.requests_log("commons.api", method="POST")
    params = dict(post["params"])
    data = json.loads(params.pop("data"))
    assert params == {"action": "wbeditentity", "id": mid, "summary": SUMMARY,
                      "tags": "likeness", "token": token, "maxlag": "5", "assert": "user",
                      "format": "json", "formatversion": "2"}      # no bot, no baserevid
    (stmt,) = data["claims"]
    assert stmt["mainsnak"]["datavalue"]["value"] == {"entity-type": "item",
                                                      "numeric-id": int(qid[1:]), "id": qid}
    assert stmt["qualifiers"]["P2677"][0]["datavalue"] == {"type": "string",
                                                            "value": "pct:10,20,30,40"}
    assert stmt["qualifiers-order"] == ["P2677"]

    (edit,) = standin.edits(entity=mid)
    assert (edit["user"], edit["new_revid"], edit["bot"], edit["tags"]) == (
        TESTER, revid, False, ["likeness"])
    after = get_mediainfo(commons, [mid])[mid]
    assert isinstance(after, MediaInfo) and after.lastrevid == revid
    (depicts,) = after.depicts()
    assert (depicts.id, depicts.value_qid, depicts.region, depicts.rank) == (
        guid, qid, "pct:10,20,30,40", "normal")


def test_add_depicts_finds_the_new_statement_among_existing_ones(standin, standin_catalog,
                                                                commons):
    gates = standin_catalog.person("bill_gates")
    f = standin_catalog.file(gates.files[0])          # already depicts Bill Gates, no region
    mid = f"M{f.pageid}"
    before = get_mediainfo(commons, [mid])[mid]
    (old,) = before.depicts()
    revid, guid = add_depicts(commons, mid, gates.qid, None, "s", csrf_token(commons),
                              baserevid=before.lastrevid)
    assert guid != old.id and revid > before.lastrevid
    (post,) = standin.requests_log("commons.api", method="POST")
    assert post["params"]["baserevid"] == str(before.lastrevid)
    assert "qualifiers" not in json.loads(post["params"]["data"])["claims"][0]
    assert [s.id for s in get_mediainfo(commons, [mid])[mid].depicts()] == [old.id, guid]


def test_region_qualifier_then_remove(standin, standin_catalog, commons):
    gates = standin_catalog.person("bill_gates")
    mid = f"M{standin_catalog.file(gates.files[0]).pageid}"
    info = get_mediainfo(commons, [mid])[mid]
    (stmt,) = info.depicts()
    token = csrf_token(commons)
    rev1 = add_region_qualifier(commons, stmt.id, "pct:5,5,20,25", "region", token,
                                baserevid=info.lastrevid)
    (post,) = standin.requests_log("commons.api", method="POST")
    assert {k: post["params"][k] for k in ("action", "claim", "property", "snaktype", "value",
                                           "baserevid", "maxlag", "assert")} == {
        "action": "wbsetqualifier", "claim": stmt.id, "property": "P2677", "snaktype": "value",
        "value": '"pct:5,5,20,25"', "baserevid": str(info.lastrevid), "maxlag": "5",
        "assert": "user"}
    assert "bot" not in post["params"] and "tags" not in post["params"]
    updated = get_mediainfo(commons, [mid])[mid]
    assert updated.lastrevid == rev1 and updated.depicts()[0].region == "pct:5,5,20,25"

    rev2 = remove_statement(commons, stmt.id, "remove", token, baserevid=rev1)
    assert rev2 > rev1
    last = standin.requests_log("commons.api", method="POST")[-1]
    assert (last["params"]["action"], last["params"]["claim"]) == ("wbremoveclaims", stmt.id)
    assert get_mediainfo(commons, [mid])[mid].depicts() == []
    assert [e["action"] for e in standin.edits(entity=mid)] == ["wbsetqualifier",
                                                                "wbremoveclaims"]


def test_badtoken_gets_one_new_token_then_gives_up(standin, standin_catalog, commons):
    f = _no_sdc_file(standin_catalog)
    mid, qid = f"M{f.pageid}", standin_catalog.person("colin_powell").qid
    stale = csrf_token(commons)
    standin.rotate_csrf()
    revid, _ = with_fresh_token(commons, lambda t: add_depicts(commons, mid, qid, None, "s", t),
                                stale)
    posts = standin.requests_log("commons.api", method="POST")
    assert [p["error"] for p in posts] == ["badtoken", None]
    assert len(standin.edits(entity=mid)) == 1 and revid

    standin.fault("commons.api", "error", times=None, code="badtoken", method="POST")
    since = posts[-1]["seq"]
    with pytest.raises(ApiError) as info:
        with_fresh_token(commons, lambda t: remove_statement(
            commons, f"{mid}$00000000-0000-0000-0000-000000000000", "s", t))
    assert classify(info.value) == NewCsrfToken("badtoken")
    assert len(standin.requests_log("commons.api", method="POST", since=since)) == 2  # bounded


def test_expired_oauth_token_means_refresh(standin, standin_catalog, commons):
    token = csrf_token(commons)
    standin.expire_tokens(TESTER)
    with pytest.raises(ApiError) as info:
        add_depicts(commons, f"M{_no_sdc_file(standin_catalog).pageid}",
                    standin_catalog.person("bill_gates").qid, None, "s", token)
    assert info.value.code == "mwoauth-invalid-authorization"
    assert classify(info.value) == RefreshToken("mwoauth-invalid-authorization")
    assert standin.edits() == []


def test_anonymous_write_is_refused_by_assert_user(standin, standin_catalog, cfg):
    anonymous = make_clients(cfg).commons
    f = _no_sdc_file(standin_catalog)
    with pytest.raises(ValueError):       # the anonymous token is refused before sending
        add_depicts(anonymous, f"M{f.pageid}", "Q5", None, "s", "+\\")
    # Even with a (wrong) user token the assert keeps the edit from being anonymous.
    with pytest.raises(ApiError) as info:
        anonymous.post({"action": "wbremoveclaims",
                        "claim": f"M{f.pageid}$00000000-0000-0000-0000-000000000000",
                        "token": standin.csrf_token(TESTER)})
    assert info.value.code in {"assertuserfailed", "badtoken"}
    assert standin.edits() == []


def test_stale_baserevid_means_reread(standin, standin_catalog, commons):
    standin.configure(conflict_policy="strict")
    gates = standin_catalog.person("bill_gates")
    mid = f"M{standin_catalog.file(gates.files[0]).pageid}"
    info = get_mediainfo(commons, [mid])[mid]
    token = csrf_token(commons)
    add_region_qualifier(commons, info.depicts()[0].id, "pct:1,1,10,10", "s", token,
                         baserevid=info.lastrevid)
    with pytest.raises(ApiError) as err:
        add_depicts(commons, mid, standin_catalog.person("colin_powell").qid, None, "s",
                    token, baserevid=info.lastrevid)
    assert classify(err.value) == Reread("editconflict")


def test_blocked_user_and_unknown_item_are_permanent(standin, standin_catalog, cfg, commons):
    f = _no_sdc_file(standin_catalog)
    with pytest.raises(ApiError) as unknown:
        add_depicts(commons, f"M{f.pageid}", "Q987654321", None, "s", csrf_token(commons))
    assert classify(unknown.value) == Permanent("modification-failed", unknown.value.info)
    blocked = make_clients(cfg, standin.issue_token("Blocked Tester")).commons
    with pytest.raises(ApiError) as denied:
        add_depicts(blocked, f"M{f.pageid}", "Q5", None, "s", csrf_token(blocked))
    assert isinstance(classify(denied.value), Permanent)
    assert denied.value.code == "permissiondenied"
    assert standin.edits() == []


def test_throttled_write_waits(standin, standin_catalog, commons):
    standin.fault("commons.api", "error", code="failed-save", method="POST")
    f = _no_sdc_file(standin_catalog)
    with pytest.raises(ApiError) as info:
        add_depicts(commons, f"M{f.pageid}", "Q5", None, "s", csrf_token(commons))
    assert info.value.messages == ("actionthrottledtext",)
    assert classify(info.value) == RetryLater(60.0, "rate limited")
    assert len(standin.requests_log("commons.api", method="POST")) == 1


def test_bad_arguments_are_refused_before_sending(standin, commons):
    with pytest.raises(ValueError):
        add_depicts(commons, "File:X.jpg", "Q5", None, "s", "abc+\\")
    with pytest.raises(ValueError):
        add_depicts(commons, "M1", "Q5", "pct:90,0,20,10", "s", "abc+\\")
    with pytest.raises(ValueError):
        remove_statement(commons, "Q1$abc", "s", "abc+\\")
    assert standin.requests_log("commons.api") == []
