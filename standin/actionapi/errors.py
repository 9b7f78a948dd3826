"""Action API errors as MediaWiki and Wikibase word them (codes, info texts, messages)."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An Action API error: HTTP 200, an error body and a ``MediaWiki-API-Error`` header."""

    def __init__(self, code: str, info: str, messages: list[dict[str, Any]] | None = None,
                 extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                 status: int = 200) -> None:
        super().__init__(f"{code}: {info}")
        self.code = code
        self.info = info
        self.messages = messages
        self.extra = extra or {}
        self.headers = headers or {}
        self.status = status


def _msg(name: str, text: str, parameters: list[Any] | None = None) -> list[dict[str, Any]]:
    return [{"name": name, "parameters": parameters or [], "html": {"*": text}}]


THROTTLED = ("As an anti-abuse measure, you are limited from performing this action too many "
             "times in a short space of time, and you have exceeded this limit.\n"
             "Please try again in a few minutes.")


def badtoken() -> ApiError:
    return ApiError("badtoken", "Invalid CSRF token.")


def assertuserfailed() -> ApiError:
    return ApiError("assertuserfailed",
                    "You are no longer logged in, so the action could not be completed.")


def assertbotfailed() -> ApiError:
    return ApiError("assertbotfailed",
                    'You do not have the "bot" right, so the action could not be completed.')


def invalid_authorization(reason: str = "Invalid access token") -> ApiError:
    return ApiError("mwoauth-invalid-authorization",
                    f"The authorization headers in your request are not valid: {reason}")


def maxlag(lag: float, host: str = "10.64.48.100", maxlag_param: int = 5,
           lag_type: str = "db") -> ApiError:
    extra: dict[str, Any] = {"host": host, "lag": lag, "type": lag_type}
    if lag_type == "wikibase-queryservice":  # Wikidata folds WDQS lag into maxlag
        extra["host"] = host = "wdqs1013"
        extra["queryserviceLag"] = int(lag * 60)
    return ApiError(
        "maxlag", f"Waiting for {host}: {lag:g} seconds lagged.", extra=extra,
        headers={"Retry-After": str(max(int(maxlag_param), 5)), "X-Database-Lag": str(int(lag))},
    )


def abusefilter_warning(rule: str = "Possible vandalism by adding nonsense") -> ApiError:
    text = ("Warning: This action has been automatically identified as harmful.\n"
            "A brief description of the abuse rule which your action matched is: " + rule)
    return ApiError("failed-save", text, [{"name": "abusefilter-warning",
                                           "parameters": [rule, 18], "html": {"*": text}}])


def throttled() -> ApiError:
    return ApiError("failed-save", THROTTLED, _msg("actionthrottledtext", THROTTLED))


def ratelimited() -> ApiError:
    return ApiError("ratelimited",
                    "You've exceeded your rate limit. Please wait some time and try again.")


def editconflict() -> ApiError:
    return ApiError("editconflict", "Edit conflict.", _msg("edit-conflict", "Edit conflict."))


def permissiondenied(blocked: bool = False, protected: bool = False) -> ApiError:
    if blocked:
        text = "You have been blocked from editing."
        return ApiError("permissiondenied", text, _msg("blockedtext", text))
    if protected:
        text = "This page has been protected to prevent editing or other actions."
        return ApiError("permissiondenied", text, _msg("protectedpagetext", text))
    text = "You are not allowed to execute the action you have requested."
    return ApiError("permissiondenied", text, _msg("badaccess-group0", text))


def no_such_entity(entity_id: str) -> ApiError:
    text = "Could not find such an entity."
    return ApiError("no-such-entity", f"{text} (Invalid id: {entity_id})",
                    _msg("wikibase-api-no-such-entity", text), extra={"id": entity_id})


def no_such_entity_link() -> ApiError:
    text = "Could not find an Item containing a sitelink to the provided site and page name."
    return ApiError("no-such-entity-link", text, _msg("wikibase-api-no-such-entity-link", text))


def invalid_guid(text: str = "Invalid claim guid") -> ApiError:
    return ApiError("invalid-guid", text, _msg("wikibase-api-invalid-guid", text))


def no_such_claim(guid: str) -> ApiError:
    text = f"Could not find the claim {guid}"
    return ApiError("no-such-claim", text, _msg("wikibase-api-no-such-claim", text))


def no_such_qualifier() -> ApiError:
    text = "Could not find the qualifier"
    return ApiError("no-such-qualifier", text, _msg("wikibase-api-no-such-qualifier", text))


def modification_failed(text: str, name: str = "wikibase-api-modification-failed") -> ApiError:
    return ApiError("modification-failed", text, _msg(name, text))


def failed_save(text: str = "The save has failed.") -> ApiError:
    return ApiError("failed-save", text, _msg("wikibase-api-failed-save", text))


def badtags(tags: list[str]) -> ApiError:
    if len(tags) == 1:
        info = f'The tag "{tags[0]}" is not allowed to be manually applied.'
    else:
        info = "The following tags are not allowed to be manually applied: " + ", ".join(tags)
    return ApiError("badtags", info, extra={"disallowedtags": tags})


def badvalue(param: str, value: str) -> ApiError:
    return ApiError("badvalue", f'Unrecognized value for parameter "{param}": {value}.')


def missingparam(param: str) -> ApiError:
    return ApiError("missingparam", f'The "{param}" parameter must be set.')


def param_missing(text: str) -> ApiError:
    return ApiError("param-missing", text, _msg("wikibase-api-param-missing", text))


def mustbeposted(module: str) -> ApiError:
    return ApiError("mustbeposted", f"The \"{module}\" module requires a POST request.")


def mustposttoken() -> ApiError:
    return ApiError("mustposttoken",
                    "The \"token\" parameter was found in the query string, but must be in the "
                    "POST body.")


def badcontinue() -> ApiError:
    return ApiError("badcontinue", "Invalid continue param. You should pass the original value "
                                   "returned by the previous query.")


def toomanyvalues(param: str, limit: int) -> ApiError:
    return ApiError("toomanyvalues",
                    f'Too many values supplied for parameter "{param}". The limit is {limit}.',
                    extra={"limit": limit, "lowlimit": limit, "highlimit": 500})


def invalid_json(text: str) -> ApiError:
    return ApiError("invalid-json", f"Could not parse JSON: {text}",
                    _msg("wikibase-api-invalid-json", "Could not parse JSON."))


# Errors a fault can inject by code alone.
BY_CODE = {
    "badtoken": badtoken,
    "assertuserfailed": assertuserfailed,
    "assertbotfailed": assertbotfailed,
    "mwoauth-invalid-authorization": invalid_authorization,
    "maxlag": lambda: maxlag(7.25),
    "failed-save": throttled,
    "actionthrottledtext": throttled,
    "ratelimited": ratelimited,
    "abusefilter-warning": abusefilter_warning,
    "editconflict": editconflict,
    "permissiondenied": permissiondenied,
    "no-such-entity": lambda: no_such_entity("M0"),
    "no-such-entity-link": no_such_entity_link,
    "modification-failed": lambda: modification_failed("Modification failed."),
    "invalid-guid": invalid_guid,
    "badtags": lambda: badtags(["injected-tag"]),
    "internal_api_error_DBQueryError": lambda: ApiError(
        "internal_api_error_DBQueryError",
        "[0b1c2d3e4f5a6b7c8d9e0f1a] Caught exception of type Wikimedia\\Rdbms\\DBQueryError"),
}


def by_code(code: str, **kwargs: Any) -> ApiError:
    if code == "maxlag" and kwargs:
        return maxlag(float(kwargs.get("lag", 7.25)), maxlag_param=int(kwargs.get("maxlag", 5)),
                      lag_type=kwargs.get("lag_type", "db"))
    factory = BY_CODE.get(code)
    if factory is None:
        return ApiError(code, kwargs.get("info", f"Injected error {code}."))
    return factory()
