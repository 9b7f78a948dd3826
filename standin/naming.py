"""Page titles, database keys and upload URLs, following MediaWiki's rules closely enough that
titles with spaces, ``?&%+`` and non-ASCII characters behave as they do on Commons."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

NAMESPACES = {0: "", 6: "File", 14: "Category", 2: "User"}
_NS_BY_NAME = {
    "file": 6,
    "image": 6,
    "category": 14,
    "user": 2,
}
# Characters MediaWiki refuses in titles ($wgLegalTitleChars excludes these).
_ILLEGAL = re.compile(r"[#<>\[\]|{}\x00-\x1f\x7f]|%[0-9A-Fa-f]{2}")


class BadTitle(ValueError):
    """The text cannot be a page title."""


def normalize_title(raw: str) -> tuple[int, str]:
    """Return (namespace, canonical title) for user input such as ``file:bill_gates 1.jpg``."""
    text = raw.replace("_", " ").strip()
    text = re.sub(r" {2,}", " ", text)
    ns = 0
    if ":" in text:
        prefix, rest = text.split(":", 1)
        key = prefix.strip().lower()
        if key in _NS_BY_NAME:
            ns = _NS_BY_NAME[key]
            text = rest.strip()
    if not text or _ILLEGAL.search(text):
        raise BadTitle(raw)
    text = text[0].upper() + text[1:]
    prefix = NAMESPACES[ns]
    return ns, f"{prefix}:{text}" if prefix else text


def strip_namespace(title: str) -> str:
    """``File:Bill Gates 1.jpg`` -> ``Bill Gates 1.jpg``."""
    ns, canonical = normalize_title(title)
    return canonical.split(":", 1)[1] if ns else canonical


def dbkey(title: str) -> str:
    """The underscore form used in URLs and file paths."""
    return title.replace(" ", "_")


def wf_urlencode(text: str) -> str:
    """MediaWiki's wfUrlencode: rawurlencode, then keep ``;@$!*(),/~:`` readable."""
    return quote(text, safe=";@$!*(),/~:")


def hash_path(name: str) -> str:
    """``a/ab`` directory of an upload, from the MD5 of its underscore name."""
    digest = hashlib.md5(dbkey(name).encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"{digest[0]}/{digest[:2]}"


def sortkey_hex(title: str) -> str:
    """Hex sort key for categorymembers continuation (uppercase of the title without ns)."""
    return strip_namespace(title).upper().encode("utf-8").hex()
