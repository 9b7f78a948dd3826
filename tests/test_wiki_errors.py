"""The error table: every recorded error shape maps to the right typed outcome.

The bodies and headers come from the shared API samples (real and reconstructed Wikimedia
answers); the same codes are checked over real HTTP against the stand-in in
test_wiki_errors_http.py.
"""

import json
import os
from pathlib import Path

import pytest
import requests

from likeness.config import REPO_ROOT
from likeness.wiki.errors import (
    ApiError,
    NewCsrfToken,
    Permanent,
    RefreshToken,
    Reread,
    RetryLater,
    TransportError,
    classify,
)

SAMPLES = Path(os.environ.get("LIKENESS_API_SAMPLES", REPO_ROOT.parent / "shared" / "api-samples"))

# case name prefix in commons_errors_write.json -> expected outcome
EXPECTED = {
    "badtoken": NewCsrfToken("badtoken"),
    "assertuserfailed": RefreshToken("assertuserfailed"),
    "mwoauth-invalid-authorization": RefreshToken("mwoauth-invalid-authorization"),
    "ratelimited on a Wikibase write": RetryLater(60.0, "rate limited"),
    "ratelimited (core": RetryLater(60.0, "rate limited"),
    "failed-save from AbuseFilter": Permanent("failed-save"),
    "editconflict": Reread("editconflict"),
    "permissiondenied": Permanent("permissiondenied"),
    "no-such-entity-link": Permanent("no-such-entity-link"),
    "modification-failed": Permanent("modification-failed"),
    "badtags": Permanent("badtags"),
    "unknown_action": Permanent("unknown_action"),
}


def _cases():
    path = SAMPLES / "commons_errors_write.json"
    if not path.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"API samples not found at {SAMPLES} (set LIKENESS_API_SAMPLES)"))]
    cases = json.loads(path.read_text())["cases"]
    return [pytest.param(c, id=c["case"]) for c in cases]


def _expected(case_name):
    for prefix, outcome in EXPECTED.items():
        if case_name.startswith(prefix):
            return outcome
    raise AssertionError(f"no expectation for sample case {case_name!r}")


@pytest.mark.parametrize("case", _cases())
def test_sample_error_classifies(case):
    resp = case["response"]
    err = ApiError.from_body(resp["body"], resp["headers"], resp["status"])
    assert err is not None
    assert err.code == resp["headers"]["mediawiki-api-error"]
    outcome = classify(err, oauth=True)
    expected = _expected(case["case"])
    if isinstance(expected, Permanent):
        assert isinstance(outcome, Permanent) and outcome.code == expected.code
    else:
        assert outcome == expected


def test_sample_maxlag_uses_retry_after_header():
    path = SAMPLES / "commons_error_maxlag.json"
    if not path.is_file():
        pytest.skip(f"API samples not found at {SAMPLES}")
    exchange = json.loads(path.read_text())["exchanges"][1]
    err = ApiError.from_body(exchange["response"]["body"], exchange["response"]["headers"])
    assert (err.code, err.retry_after, err.lag) == ("maxlag", 5.0, 7.25)
    assert classify(err) == RetryLater(5.0, "maxlag (7.25s lag)")


def test_success_body_is_not_an_error():
    assert ApiError.from_body({"batchcomplete": True, "query": {}}, {}) is None
    # A header alone (an error body we cannot read) still counts.
    assert ApiError.from_body({}, {"MediaWiki-API-Error": "readonly"}).code == "readonly"


def test_assertuserfailed_without_oauth_is_permanent():
    err = ApiError("assertuserfailed", "You are no longer logged in")
    assert classify(err, oauth=False) == Permanent("assertuserfailed",
                                                   "You are no longer logged in")


@pytest.mark.parametrize(("status", "retry_after", "expected"), [
    (429, 7.0, RetryLater(7.0, "HTTP 429")),
    (429, None, RetryLater(60.0, "HTTP 429")),
    (503, 2.0, RetryLater(2.0, "HTTP 503")),
    (502, None, RetryLater(30.0, "HTTP 502")),
    (404, None, Permanent("http-404", "Not Found")),
])
def test_http_status_outcomes(status, retry_after, expected):
    err = ApiError(f"http-{status}", "Not Found" if status == 404 else "", retry_after,
                   http_status=status)
    assert classify(err) == expected


def test_transport_errors_reread_only_when_a_post_may_have_landed():
    dropped_post = TransportError("POST", "u", "connection reset", maybe_applied=True)
    refused = TransportError("POST", "u", "connection refused", maybe_applied=False)
    assert isinstance(classify(dropped_post), Reread)
    assert isinstance(classify(refused), RetryLater)


def test_unknown_code_never_loops():
    assert isinstance(classify(ApiError("something-new", "?")), Permanent)
    assert isinstance(classify(requests.exceptions.InvalidURL("x")), Permanent)


# Over real HTTP: the stand-in answers each injected code the way MediaWiki does (HTTP 200,
# error body, MediaWiki-API-Error header); the client must raise and classify it.
HTTP_TABLE = [
    ("badtoken", NewCsrfToken("badtoken")),
    ("assertuserfailed", RefreshToken("assertuserfailed")),
    ("mwoauth-invalid-authorization", RefreshToken("mwoauth-invalid-authorization")),
    ("failed-save", RetryLater(60.0, "rate limited")),
    ("ratelimited", RetryLater(60.0, "rate limited")),
    ("editconflict", Reread("editconflict")),
    ("permissiondenied", Permanent),
    ("no-such-entity", Permanent),
    ("modification-failed", Permanent),
    ("invalid-guid", Permanent),
    ("badtags", Permanent),
    ("abusefilter-warning", Permanent),         # Wikibase answers failed-save for it
    ("internal_api_error_DBQueryError", RetryLater(30.0, "internal_api_error_DBQueryError")),
]


@pytest.mark.parametrize(("code", "expected"), HTTP_TABLE, ids=[c for c, _ in HTTP_TABLE])
def test_error_over_http_classifies(standin, code, expected):
    from likeness.wiki.api import ActionApi
    from likeness.wiki.http import make_session

    api = ActionApi(standin.config_overrides()["wiki"]["commons_api"],
                    make_session("LikenessTest/1 (test; test@example.org)"))
    standin.fault("commons.api", "error", code=code, method="POST")
    with pytest.raises(ApiError) as info:
        api.post({"action": "wbremoveclaims", "claim": "M1$x", "token": "t+\\"})
    sent = "failed-save" if code == "abusefilter-warning" else code
    assert info.value.code == sent
    (row,) = standin.requests_log("commons.api")
    assert row["error"] == sent and row["status"] == 200
    outcome = classify(info.value, oauth=True)
    if expected is Permanent:
        assert isinstance(outcome, Permanent) and outcome.code == sent
    else:
        assert outcome == expected
