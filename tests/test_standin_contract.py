"""Contract tests: every example in ../shared/api-samples/ is replayed against the stand-in and
the answers must have the same keys and JSON types at every path (values may differ).

Each exchange has a builder that turns the recorded request into the equivalent request for the
stand-in's catalog (a file with P180 instead of Chick Corea's, the stand-in's tokens ...), or a
skip reason. An exchange with neither fails, so new samples cannot be forgotten.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from likeness.config import REPO_ROOT
from standin import Catalog, StandIn
from standin.shape import differences

SAMPLES = Path(os.environ.get("LIKENESS_API_SAMPLES", REPO_ROOT.parent / "shared" / "api-samples"))
TESTER = "Likeness Tester"


@dataclass
class Req:
    method: str
    url: str
    params: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    follow: bool = True


def _load() -> list[Any]:
    if not SAMPLES.is_dir():
        return []
    out = []
    for path in sorted(SAMPLES.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for i, _ in enumerate(doc.get("exchanges") or doc.get("cases") or []):
            out.append(pytest.param(path.stem, i, id=f"{path.stem}#{i}"))
    return out


def exchange(stem: str, index: int) -> dict[str, Any]:
    doc = json.loads((SAMPLES / f"{stem}.json").read_text(encoding="utf-8"))
    return (doc.get("exchanges") or doc.get("cases"))[index]


def sample_params(request: dict[str, Any]) -> dict[str, str]:
    """The recorded request's parameters, wherever the recorder put them."""
    params = dict(parse_qsl(urlsplit(request["url"]).query))
    params.update(request.get("params") or {})
    if "form_decoded" in request:
        params.update(request["form_decoded"])
    elif "form" in request:
        params.update(request["form"])
    elif request.get("body"):
        params.update(dict(parse_qsl(request["body"])))
    return {k: str(v) for k, v in params.items()}


class Env:
    """Helpers a builder uses to translate a recorded request to the stand-in's world."""

    def __init__(self, s: StandIn, cat: Catalog) -> None:
        self.s, self.cat = s, cat
        self.http = requests.Session()
        self._tokens: dict[str, str] = {}
        bill = cat.person("bill_gates")
        self.bill = bill.qid
        self.biden = cat.person("joseph_biden").qid
        self.p180_file = cat.file("File:Bill Gates 2.jpg")       # P180 + P2677 + caption
        self.missing_file = cat.files_without_sdc()[0]
        self.empty_file = next(f for f in cat.files if f.sdc == {"labels": {}, "statements": []})
        self.big_file = max(cat.files, key=lambda f: f.width)

    def token(self, user: str = TESTER) -> str:
        if user not in self._tokens:
            self._tokens[user] = self.s.issue_token(user)
        return self._tokens[user]

    def auth(self, user: str = TESTER) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def api(self, site: str) -> str:
        return self.s.urls.api(site)

    def like(self, stem: str, index: int, site: str = "commons", user: str | None = TESTER,
             **overrides: str | None) -> Req:
        """The recorded request with ``overrides`` (None deletes), sent as the recorder did."""
        rec = exchange(stem, index)["request"]
        params = sample_params(rec)
        for k, v in overrides.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = v
        headers = self.auth(user) if user else {}
        if rec["method"] == "POST":
            if "token" in params and "token" not in overrides:
                params["token"] = self.s.csrf_token(user)
            return Req("POST", self.api(site), data=params, headers=headers)
        return Req("GET", self.api(site), params=params, headers=headers)

    def send(self, req: Req) -> requests.Response:
        return self.http.request(req.method, req.url, params=req.params, data=req.data,
                                 headers=req.headers, allow_redirects=req.follow)

    def json(self, req: Req) -> dict[str, Any]:
        return self.send(req).json()

    def lastrevid(self, mid: str) -> str:
        return str(self.s.world.entity(mid).lastrevid)

    def new_claim(self, mid: str, qid: str) -> str:
        body = self.json(Req("POST", self.api("commons"), headers=self.auth(), data={
            "action": "wbcreateclaim", "entity": mid, "property": "P180", "snaktype": "value",
            "value": json.dumps({"entity-type": "item", "numeric-id": int(qid[1:])}),
            "token": self.s.csrf_token(TESTER), "format": "json"}))
        return body["claim"]["id"]

    def data_with(self, stem: str, index: int, old: str, new: str) -> str:
        return sample_params(exchange(stem, index)["request"])["data"].replace(old, new)

    def oauth(self, path: str) -> str:
        return f"{self.s.urls.oauth}/oauth2/{path}"

    def auth_code(self) -> str:
        self.s.set_next_user(TESTER)
        resp = self.http.get(self.oauth("authorize"), params={
            "response_type": "code", "client_id": self.s.client.client_id, "state": "xyz",
            "redirect_uri": "http://127.0.0.1:9/callback"}, allow_redirects=False)
        approve = self.http.get(resp.headers["Location"], allow_redirects=False)
        return dict(parse_qsl(urlsplit(approve.headers["Location"]).query))["code"]


Builder = Callable[[Env], Req]
BUILDERS: dict[tuple[str, int], Builder] = {}
SKIPS = {
    ("wcqs_sparql_depicts", 0): "WCQS SPARQL is not served: the tool finds depicted files with "
                                "haswbstatement search (as WikiVisage does)",
    ("oauth2_authorize", 1): "this request goes to the tool's own callback, not to Wikimedia",
    ("commons_wbcreateclaim_P180", 0): "a Wikidata write; the tool writes only to Commons",
    ("commons_wbcreateclaim_P180", 1): "a Wikidata write (2016, external-id); the tool writes "
                                       "only to Commons",
}
IGNORE = {
    # Asked on en.wikipedia, where the Commons file is a 'missing' but 'known' foreign page.
    ("commons_imageinfo_extmetadata", 0): {"$.query.pages[~0].missing", "$.query.pages[~0].known"},
    # Reconstructed sample: it shows descriptions although props=info|claims|labels omits them.
    ("commons_wbgetentities_mediainfo_P180_P2677", 0): {"$.entities[~M74698470].descriptions"},
}


def builder(stem: str, *indexes: int) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        for i in indexes:
            BUILDERS[(stem, i)] = fn
        return fn
    return register


# -- query: categories, image info, search, tokens, userinfo ---------------------------------
@builder("commons_categorymembers", 0)
def _cm(e: Env) -> Req:
    return e.like("commons_categorymembers", 0, cmtitle="Category:Bill Gates")


@builder("commons_categorymembers_fv2", 0)
def _cm_fv2(e: Env) -> Req:
    return e.like("commons_categorymembers_fv2", 0, cmtitle="Category:Bill Gates")


@builder("commons_categorymembers_fv2", 1)
def _cm_fv2_next(e: Env) -> Req:
    cont = e.json(_cm_fv2(e))["continue"]
    return e.like("commons_categorymembers_fv2", 1, cmtitle="Category:Bill Gates", **cont)


@builder("commons_generator_categorymembers_imageinfo", 0)
def _gen(e: Env) -> Req:
    return e.like("commons_generator_categorymembers_imageinfo", 0, gcmlimit="1",
                  gcmtitle="Category:Bill Gates", gcmtype="file")


@builder("commons_generator_categorymembers_imageinfo", 1)
def _gen_next(e: Env) -> Req:
    cont = e.json(_gen(e))["continue"]
    return e.like("commons_generator_categorymembers_imageinfo", 1, gcmlimit="1",
                  gcmtitle="Category:Bill Gates", gcmtype="file", **cont)


UPLOADS = "Category:Files uploaded by Likeness Tester"


@builder("commons_generator_categorymembers_imageinfo", 2)
def _gen_thumbs(e: Env) -> Req:
    return e.like("commons_generator_categorymembers_imageinfo", 2, gcmtitle=UPLOADS,
                  iiurlwidth="100")


@builder("commons_generator_categorymembers_imageinfo", 3)
def _gen_thumbs_next(e: Env) -> Req:
    cont = e.json(_gen_thumbs(e))["continue"]
    return e.like("commons_generator_categorymembers_imageinfo", 3, gcmtitle=UPLOADS,
                  iiurlwidth="100", iicontinue=cont["iicontinue"], **{"continue": cont["continue"]})


@builder("commons_imageinfo_thumb", 0)
def _thumb(e: Env) -> Req:
    return e.like("commons_imageinfo_thumb", 0, titles="File:Bill_Gates_1.jpg")


@builder("commons_imageinfo_thumb", 1)
def _thumb_fv2(e: Env) -> Req:
    return e.like("commons_imageinfo_thumb", 1, titles=e.big_file.title)


@builder("commons_imageinfo_extmetadata", 0)
def _extmeta(e: Env) -> Req:
    return e.like("commons_imageinfo_extmetadata", 0,
                  titles=e.p180_file.title.replace(" ", "_"))


@builder("commons_imageinfo_missing", 0, 1)
def _missing(e: Env) -> Req:
    return e.like("commons_imageinfo_missing", _missing.index)  # type: ignore[attr-defined]


@builder("commons_meta_tokens_csrf", 0, 1)
def _tokens(e: Env) -> Req:
    return e.like("commons_meta_tokens_csrf", _tokens.index)  # type: ignore[attr-defined]


@builder("commons_meta_userinfo", 0)
def _userinfo(e: Env) -> Req:
    return e.like("commons_meta_userinfo", 0)


@builder("commons_meta_userinfo", 1)
def _userinfo_bad(e: Env) -> Req:
    req = e.like("commons_meta_userinfo", 1)
    req.headers = {"Authorization": "Bearer not_a_real_token"}
    return req


@builder("commons_search_haswbstatement", 0)
def _search(e: Env) -> Req:
    return e.like("commons_search_haswbstatement", 0, srsearch=f"haswbstatement:P180={e.bill}")


@builder("commons_search_haswbstatement", 1)
def _search_words(e: Env) -> Req:
    return e.like("commons_search_haswbstatement", 1, srsearch="Bill")


@builder("commons_search_haswbstatement", 2)
def _search_gen(e: Env) -> Req:
    return e.like("commons_search_haswbstatement", 2, gsrsearch="Abstract Wikipedia")


# -- MediaInfo reads -----------------------------------------------------------------------
@builder("commons_wbgetentities_mediainfo_P180", 0)
def _mi(e: Env) -> Req:
    return e.like("commons_wbgetentities_mediainfo_P180", 0, ids=f"M{e.p180_file.pageid}")


@builder("commons_wbgetentities_mediainfo_P180_P2677", 0)
def _mi_region(e: Env) -> Req:
    return e.like("commons_wbgetentities_mediainfo_P180_P2677", 0, ids=f"M{e.p180_file.pageid}")


@builder("commons_wbgetentities_mediainfo_empty_statements", 0)
def _mi_empty(e: Env) -> Req:
    return e.like("commons_wbgetentities_mediainfo_empty_statements", 0,
                  titles=e.empty_file.title)


@builder("commons_wbgetentities_mediainfo_empty_statements", 1)
def _mi_empty_token(e: Env) -> Req:
    return e.like("commons_wbgetentities_mediainfo_empty_statements", 1)


@builder("commons_wbgetentities_mediainfo_empty_statements", 2)
def _mi_empty_edit(e: Env) -> Req:
    stem = "commons_wbgetentities_mediainfo_empty_statements"
    return e.like(stem, 2, title=e.empty_file.title,
                  data=e.data_with(stem, 2, "Q19125117", "Q5"))


@builder("commons_wbgetentities_mediainfo_empty_statements", 3)
def _mi_empty_reread(e: Env) -> Req:
    e.send(_mi_empty_edit(e))
    return e.like("commons_wbgetentities_mediainfo_empty_statements", 3,
                  titles=e.empty_file.title)


@builder("commons_wbgetentities_mediainfo_missing", 0)
def _mi_missing(e: Env) -> Req:
    return e.like("commons_wbgetentities_mediainfo_missing", 0, titles=e.missing_file.title)


@builder("commons_wbgetentities_mediainfo_missing", 1)
def _mi_nofile(e: Env) -> Req:
    return e.like("commons_wbgetentities_mediainfo_missing", 1)


@builder("commons_wbgetentities_mediainfo_qualifiers", 0)
def _mi_quals(e: Env) -> Req:
    return e.like("commons_wbgetentities_mediainfo_qualifiers", 0, titles=e.p180_file.title)


# -- Commons writes ------------------------------------------------------------------------
@builder("commons_wbcreateclaim_P180", 2)
def _create(e: Env) -> Req:
    mid = f"M{e.p180_file.pageid}"
    return e.like("commons_wbcreateclaim_P180", 2, entity=mid, baserevid=e.lastrevid(mid),
                  value=json.dumps({"entity-type": "item", "numeric-id": int(e.biden[1:])}))


@builder("commons_wbsetqualifier_P2677", 0)
def _qualifier(e: Env) -> Req:
    guid = e.new_claim(f"M{e.missing_file.pageid}", e.bill)
    return e.like("commons_wbsetqualifier_P2677", 0, claim=guid)


@builder("commons_wbremoveclaims", 0)
def _remove(e: Env) -> Req:
    mid = f"M{e.missing_file.pageid}"
    guid = e.new_claim(mid, e.bill)
    return e.like("commons_wbremoveclaims", 0, claim=guid, baserevid=e.lastrevid(mid))


@builder("commons_wbeditentity_mediainfo", 0)
def _edit_title(e: Env) -> Req:
    stem = "commons_wbeditentity_mediainfo"
    return e.like(stem, 0, title=e.empty_file.title, data=e.data_with(stem, 0, "Q19125117", "Q5"))


@builder("commons_wbeditentity_mediainfo", 1)
def _edit_region(e: Env) -> Req:
    stem = "commons_wbeditentity_mediainfo"
    mid = f"M{e.p180_file.pageid}"
    return e.like(stem, 1, id=mid, baserevid=e.lastrevid(mid), user=TESTER,
                  data=e.data_with(stem, 1, '"numeric-id":42,"id":"Q42"',
                                   f'"numeric-id":{e.biden[1:]},"id":"{e.biden}"'))


@builder("commons_wbeditentity_mediainfo", 2)
def _setlabel(e: Env) -> Req:
    return e.like("commons_wbeditentity_mediainfo", 2, title=e.p180_file.title)


@builder("commons_wbeditentity_mediainfo", 3)
def _edit_new(e: Env) -> Req:
    # As in the recorded session: a caption first (wbsetlabel), then the statements.
    e.send(e.like("commons_wbeditentity_mediainfo", 2, title=e.missing_file.title))
    return e.like("commons_wbeditentity_mediainfo", 3, title=e.missing_file.title)


# -- Wikidata ------------------------------------------------------------------------------
@builder("wikidata_wbgetclaims_P18", 0)
def _claims(e: Env) -> Req:
    return e.like("wikidata_wbgetclaims_P18", 0, site="wikidata", entity=e.bill)


@builder("wikidata_wbgetentities_errors", 0)
def _wd_error(e: Env) -> Req:
    return e.like("wikidata_wbgetentities_errors", 0, site="wikidata")


@builder("wikidata_wbgetentities_item", 0, 1)
def _item(e: Env) -> Req:
    return e.like("wikidata_wbgetentities_item", 0, site="wikidata", ids=e.bill)


@builder("wikidata_wbgetentities_item", 2)
def _items(e: Env) -> Req:
    return e.like("wikidata_wbgetentities_item", 2, site="wikidata", ids=f"{e.bill}|{e.biden}")


@builder("wikidata_wbgetentities_item", 3, 4)
def _item_as_recorded(e: Env) -> Req:
    return e.like("wikidata_wbgetentities_item", _item_as_recorded.index,  # type: ignore[attr-defined]
                  site="wikidata")


@builder("wikidata_wbsearchentities", 0)
def _wbsearch_id(e: Env) -> Req:
    return e.like("wikidata_wbsearchentities", 0, site="wikidata", search=e.bill)


@builder("wikidata_wbsearchentities", 1)
def _wbsearch(e: Env) -> Req:
    return e.like("wikidata_wbsearchentities", 1, site="wikidata", search="Je")


# -- errors --------------------------------------------------------------------------------
@builder("commons_error_maxlag", 0)
def _maxlag_negative(e: Env) -> Req:
    return e.like("commons_error_maxlag", 0, user=None)


@builder("commons_error_maxlag", 1)
def _maxlag_write(e: Env) -> Req:
    e.s.fault("commons.api", "maxlag", lag=7.25)
    return e.like("commons_error_maxlag", 1, entity=f"M{e.p180_file.pageid}")


@builder("commons_error_maxlag", 2)
def _maxlag_wdqs(e: Env) -> Req:
    e.s.fault("wikidata.api", "maxlag", lag=527.5, lag_type="wikibase-queryservice")
    return e.like("commons_error_maxlag", 2, site="wikidata", user=None, ids=e.bill)


WRITE = "commons_errors_write"


def _claim_params(e: Env) -> dict[str, str]:
    return {"entity": f"M{e.p180_file.pageid}", "property": "P180", "snaktype": "value",
            "value": json.dumps({"entity-type": "item", "numeric-id": int(e.bill[1:])})}


@builder(WRITE, 0)
def _badtoken_plain(e: Env) -> Req:
    return e.like(WRITE, 0, action="wbcreateclaim", token="0" * 40 + "+\\", **_claim_params(e))


@builder(WRITE, 1)
def _badtoken(e: Env) -> Req:
    return e.like(WRITE, 1, token="stale" + "0" * 35 + "+\\", **_claim_params(e))


@builder(WRITE, 2, 3)
def _assertuser(e: Env) -> Req:
    index = _assertuser.index  # type: ignore[attr-defined]
    return e.like(WRITE, index, user=None, action="wbcreateclaim", token="+\\",
                  **_claim_params(e))


@builder(WRITE, 4)
def _oauth_invalid(e: Env) -> Req:
    req = e.like(WRITE, 4)
    req.headers = {"Authorization": "Bearer not_a_real_token"}
    return req


@builder(WRITE, 5, 6, 7)
def _injected(e: Env) -> Req:
    index = _injected.index  # type: ignore[attr-defined]
    code = {5: "failed-save", 6: "ratelimited", 7: "abusefilter-warning"}[index]
    e.s.fault("commons.api", "error", code=code, action="wbcreateclaim")
    return e.like(WRITE, index, action="wbcreateclaim", **_claim_params(e))


@builder(WRITE, 8)
def _editconflict(e: Env) -> Req:
    return e.like(WRITE, 8, **_claim_params(e))


@builder(WRITE, 9)
def _permissiondenied(e: Env) -> Req:
    return e.like(WRITE, 9, user="Blocked Tester", **_claim_params(e))


@builder(WRITE, 10)
def _no_link(e: Env) -> Req:
    return e.like(WRITE, 10, data=e.data_with(WRITE, 10, "Q19125117", "Q5"))


@builder(WRITE, 11)
def _too_long(e: Env) -> Req:
    return e.like(WRITE, 11, title=e.p180_file.title)


@builder(WRITE, 12)
def _badtags(e: Env) -> Req:
    return e.like(WRITE, 12, **_claim_params(e))


@builder(WRITE, 13)
def _unknown_action(e: Env) -> Req:
    return e.like(WRITE, 13, user=None)


# -- OAuth ---------------------------------------------------------------------------------
@builder("oauth2_authorize", 0)
def _authorize(e: Env) -> Req:
    params = sample_params(exchange("oauth2_authorize", 0)["request"])
    params.update(client_id=e.s.client.client_id, redirect_uri="http://127.0.0.1:9/callback")
    return Req("GET", e.oauth("authorize"), params=params, follow=False)


def _client_form(e: Env, **form: str) -> dict[str, str]:
    return {"client_id": e.s.client.client_id, "client_secret": e.s.client.client_secret, **form}


@builder("oauth2_token", 0)
def _token(e: Env) -> Req:
    return Req("POST", e.oauth("access_token"), data=_client_form(
        e, grant_type="authorization_code", code=e.auth_code(),
        redirect_uri="http://127.0.0.1:9/callback"))


@builder("oauth2_token", 1)
def _refresh(e: Env) -> Req:
    refresh = e.s.issue_tokens(TESTER)["refresh_token"]
    return Req("POST", e.oauth("access_token"),
               data=_client_form(e, grant_type="refresh_token", refresh_token=refresh))


@builder("oauth2_token", 2)
def _bad_client(e: Env) -> Req:
    return Req("POST", e.oauth("access_token"), data=sample_params(
        exchange("oauth2_token", 2)["request"]))


@builder("oauth2_token", 3)
def _bad_refresh(e: Env) -> Req:
    return Req("POST", e.oauth("access_token"), data=_client_form(
        e, **sample_params(exchange("oauth2_token", 3)["request"])))


@builder("oauth2_profile", 0)
def _profile(e: Env) -> Req:
    return Req("GET", e.oauth("resource/profile"), headers=e.auth())


@builder("oauth2_profile", 1)
def _profile_bad(e: Env) -> Req:
    return Req("GET", e.oauth("resource/profile"),
               headers={"Authorization": "Bearer expired-or-garbage"})


# Builders shared by several indexes read the index they were called for.
def _with_index(stem: str, index: int) -> Builder:
    fn = BUILDERS[(stem, index)]
    fn.index = index  # type: ignore[attr-defined]
    return fn


# -- the test ------------------------------------------------------------------------------
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"no API samples at {SAMPLES}")


@pytest.mark.parametrize(("stem", "index"), _load())
def test_matches_sample(standin: StandIn, standin_catalog: Catalog, stem: str, index: int) -> None:
    if (stem, index) in SKIPS:
        pytest.skip(SKIPS[(stem, index)])
    assert (stem, index) in BUILDERS, f"no builder and no skip reason for {stem}#{index}"
    sample = exchange(stem, index)["response"]
    env = Env(standin, standin_catalog)
    resp = env.send(_with_index(stem, index)(env))

    assert resp.status_code == sample["status"], resp.text[:300]
    want = {k.lower(): v for k, v in (sample.get("headers") or {}).items()}
    if "content-type" in want:
        assert resp.headers["Content-Type"].split(";")[0] == want["content-type"].split(";")[0]
    for header in ("mediawiki-api-error", "retry-after", "x-database-lag", "location"):
        if header in want:
            assert header in {k.lower() for k in resp.headers}, f"missing header {header}"
    if sample.get("body") is None:
        return
    problems = differences(sample["body"], resp.json())
    problems = [p for p in problems if not any(p.startswith(i) for i in IGNORE.get((stem, index),
                                                                                   ()))]
    assert not problems, "\n".join(problems)


def test_shape_comparison_reports_missing_keys_and_wrong_types() -> None:
    sample = {"batchcomplete": True, "query": {"pages": [{"pageid": 1, "title": "File:A.jpg",
                                                          "imageinfo": [{"thumbwidth": 320}]}]}}
    actual = {"batchcomplete": "", "query": {"pages": [{"pageid": 2, "title": "File:B.jpg",
                                                        "imageinfo": [{}]}]}}
    assert differences(sample, actual) == [
        "$.batchcomplete: expected bool, got string ()",
        "$.query.pages[~0].imageinfo[~0].thumbwidth: missing",
    ]
    same_shape = {"batchcomplete": False, "query": {"pages": [
        {"pageid": 9, "title": "File:C.jpg", "imageinfo": [{"thumbwidth": 250}]}]}}
    assert differences(sample, same_shape) == []
