"""Conventions of the JSON API under /api: errors as {"error": {"code", "message"}}.

Every blueprint under /api uses ``api_error`` for its own errors; ``init_api`` turns Flask's
HTTP errors (404, 405, 413, 429 ... and 500 for an unhandled exception) into the same shape for
/api paths, and into the site's error pages (webapp.errors) elsewhere.
Malformed input is a 400 with a message, never a 500: JSON bodies through ``json_body`` and the
field readers below, integer query arguments through ``int_arg``, and ids in URLs only match up
to what the database's INT holds (a larger one is simply not found).
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Flask, Response, abort, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from likeness.db.decisions import DecisionError
from webapp.errors import error_page

API_PREFIX = "/api/"
MAX_ID = 2**31 - 1  # INT on MariaDB; SQLite fails on ids past 2**63 instead of not finding them


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: at most MAX_ID, else the route does not match (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX) or request.path == API_PREFIX.rstrip("/")


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def api_error(status: int, code: str, message: str) -> NoReturn:
    """Stop the request with a JSON error (works in views and decorators)."""
    abort(error_response(status, code, message))


def json_body(max_keys: int = 50) -> dict[str, Any]:
    """The request's JSON object, or a 400 JSON error; never None."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # the parser gives up on very deep nesting; silent= does not cover it
        api_error(400, "bad_json", "The JSON is nested too deeply.")
    if not isinstance(data, dict):
        api_error(400, "bad_json", "The request body must be a JSON object.")
    if len(data) > max_keys:
        api_error(400, "bad_json", "Too many fields.")
    return data


def client_token(body: dict[str, Any]) -> str | None:
    """The client's token for an idempotent write (a retried request is recorded once)."""
    token = body.get("token")
    if token is not None and not isinstance(token, str):
        api_error(400, "bad_token", "token must be a string")
    return token


def int_value(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        api_error(400, f"bad_{name}", f"{name} must be an integer from {low} to {high}")
    return value


def id_list(value: object, name: str, limit: int) -> list[int]:
    if not isinstance(value, list) or len(value) > limit:
        api_error(400, f"bad_{name}", f"{name} must be a list of at most {limit} ids")
    return [int_value(v, name, 1, MAX_ID) for v in value]


def decision_error(exc: DecisionError) -> NoReturn:
    """A refused answer: a missing face is 404, a token sent for another request 409."""
    api_error({"no_face": 404, "token_reused": 409}.get(exc.code, 400), exc.code, str(exc))


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """An integer query argument in [low, high], or a 400 naming it (ASCII digits only:
    str.isdigit() also accepts '²', which int() then refuses)."""
    text = request.args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(high))) \
            or not low <= int(text) <= high:
        api_error(400, f"bad_{name}", f"{name} must be a whole number from {low} to {high}")
    return int(text)


def optional_int_arg(name: str, low: int, high: int) -> int | None:
    """Like int_arg, for an argument that may be left out (None)."""
    return None if request.args.get(name) in (None, "") else int_arg(name, low, low, high)


_CODES = {
    400: "bad_request", 401: "login_required", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 414: "uri_too_long",
    422: "invalid", 429: "rate_limited", 500: "internal_error", 503: "unavailable",
}


def init_api(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter  # before any blueprint adds its routes

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if exc.response is not None:  # abort(response): already shaped
            return exc.response
        if not is_api_request():
            return error_page(exc)
        status = exc.code or 500
        headers = {}
        if status == 429 and exc.description and exc.description.isdigit():
            headers["Retry-After"] = exc.description
        message = exc.description if status != 429 else "Too many requests; slow down."
        return error_response(status, _CODES.get(status, "error"), message or exc.name,
                              headers)
