"""Fault injection: a test says which route should misbehave, how, and how many times.

Kinds:
  ``error``    an Action API error by code (HTTP 200, MediaWiki-API-Error header)
  ``maxlag``   replica lag of ``lag`` seconds: requests carrying ``maxlag`` below it get the
               maxlag error with Retry-After (requests without ``maxlag`` are not affected)
  ``http``     a bare HTTP status (429, 503, ...) with optional Retry-After and body
  ``delay``    sleep ``seconds`` and then answer normally
  ``drop``     close the connection without an answer
  ``truncate`` send only ``keep`` (fraction) of the body; ``declare_full`` keeps the full
               Content-Length so the client sees a broken connection, otherwise the short body
               looks complete (a truncated image)
  ``corrupt``  replace the body: ``how`` = garbage | flip (damage the middle) | html
Routes are dotted names (``commons.api``, ``wikidata.api``, ``meta.authorize``,
``meta.access_token``, ``meta.profile``, ``upload.original``, ``upload.thumb``); a fault on
``commons`` or ``upload`` matches every route below it, ``*`` matches all.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = {"error", "maxlag", "http", "delay", "drop", "truncate", "corrupt"}


@dataclass
class Fault:
    route: str
    kind: str
    times: int | None = 1            # None: until cleared
    after: int = 0                   # let this many matching requests through first
    action: str | None = None        # Action API action, e.g. "wbcreateclaim" or "query"
    match: dict[str, str] = field(default_factory=dict)  # params that must have these values
    path_contains: str | None = None
    method: str | None = None
    code: str | None = None          # error
    info: str | None = None          # error: override the info text
    status: int = 503                # http
    retry_after: int | None = None   # http
    body: Any = None                 # http
    seconds: float = 0.0             # delay
    lag: float = 7.25                # maxlag
    lag_type: str = "db"             # maxlag: "db", "jobqueue" or "wikibase-queryservice"
    keep: float = 0.5                # truncate
    declare_full: bool = True        # truncate
    how: str = "garbage"             # corrupt
    id: int = 0
    seen: int = 0
    applied: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next = 1

    def add(self, **spec: Any) -> Fault:
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(KINDS)}")
        if kind == "error" and not spec.get("code"):
            raise ValueError("an error fault needs a code")
        allowed = set(Fault.__dataclass_fields__) - {"id", "seen", "applied"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
        with self._lock:
            fault = Fault(**spec)
            fault.id = self._next
            self._next += 1
            self._faults.append(fault)
        return fault

    def clear(self, fault_id: int | None = None) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if fault_id is not None and f.id != fault_id]

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def pick(self, route: str, method: str, params: dict[str, str], path: str) -> Fault | None:
        """The first active fault for this request, counted as applied."""
        with self._lock:
            for fault in self._faults:
                if not self._matches(fault, route, method, params, path):
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                if fault.times is not None and fault.applied >= fault.times:
                    continue
                fault.applied += 1
                return fault
        return None

    @staticmethod
    def _matches(f: Fault, route: str, method: str, params: dict[str, str], path: str) -> bool:
        if f.route != "*" and route != f.route and not route.startswith(f.route + "."):
            return False
        if f.method and f.method.upper() != method:
            return False
        if f.action and params.get("action") != f.action:
            return False
        if any(params.get(k) != v for k, v in f.match.items()):
            return False
        if f.path_contains and f.path_contains not in path:
            return False
        if f.kind == "maxlag":
            raw = params.get("maxlag")
            try:
                return raw is not None and f.lag > int(raw)
            except ValueError:
                return False
        return True


def corrupt(body: bytes, how: str) -> tuple[bytes, str | None]:
    """Damaged bytes and, for ``html``, the content type to send instead."""
    if how == "html":
        return (b"<!DOCTYPE html><html><body><h1>Error</h1><p>Our servers are currently "
                b"under maintenance.</p></body></html>", "text/html; charset=utf-8")
    if how == "flip":
        data = bytearray(body)
        start = len(data) // 3
        for i in range(start, min(len(data), start + max(64, len(data) // 3))):
            data[i] ^= 0xFF
        return bytes(data), None
    pattern = b"standin-corrupt-bytes:"
    return (pattern * (len(body) // len(pattern) + 1))[:max(len(body), 64)], None
