"""Structured logs to stdout: one JSON line per event, with project, image and worker ids.

Secrets in request lines never reach a log: the OAuth callback's ``code`` and ``state`` and an
invite code in a ``/join/<code>`` link are replaced by ``[redacted]`` (``scrub``), both in these
JSON lines (the development server logs request lines through them) and in gunicorn's access
log (toolforge/gunicorn.conf.py).
"""

from __future__ import annotations

import json
import logging
import re
import sys

REDACTED = "[redacted]"
_SECRET_PARAMS = re.compile(
    r"(^|[?&;])(code|state|access_token|refresh_token|token)=[^&;\s\"]*", re.IGNORECASE)
_INVITE_PATH = re.compile(r"(/join/)[^?#\s\"/]+")


def scrub(text: str) -> str:
    """A request line, path or query string with its secrets replaced."""
    text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}{m.group(2)}={REDACTED}", text)
    return _INVITE_PATH.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


class ScrubSecrets(logging.Filter):
    """Scrubs every record's message (request lines logged by werkzeug, among others)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ScrubSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
