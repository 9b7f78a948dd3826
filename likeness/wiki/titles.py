"""Page titles: normalisation and safe URLs (WikiVisage broke on titles with ``?&%+``)."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote, urlencode

# Characters MediaWiki's wfUrlencode leaves alone in /wiki/ paths; everything else is escaped.
_PATH_SAFE = ";:@$!*(),/~"
_SPACES = re.compile(r"[ _]+")


def normalize_title(title: str) -> str:
    """``file:foo_bar.jpg`` -> ``File:Foo bar.jpg`` (spaces, not underscores; first letters
    upper-cased as on Commons and Wikidata, where $wgCapitalLinks is on)."""
    text = _SPACES.sub(" ", title.strip())
    if not text:
        raise ValueError("empty title")
    if ":" in text:
        prefix, rest = text.split(":", 1)
        rest = rest.strip()
        if prefix.strip().lower() in {"file", "image", "category"} and rest:
            canonical = "File" if prefix.strip().lower() in {"file", "image"} else "Category"
            return f"{canonical}:{_ucfirst(rest)}"
    return _ucfirst(text)


def _ucfirst(text: str) -> str:
    # "ß".upper() is "SS": MediaWiki keeps such letters rather than change the length.
    first = text[0].upper()
    return (first if len(first) == 1 else text[0]) + text[1:]


def category_title(name: str) -> str:
    """``Foo`` or ``Category:Foo`` -> ``Category:Foo``."""
    title = normalize_title(name)
    return title if title.startswith("Category:") else normalize_title(f"Category:{title}")


def file_title(name: str) -> str:
    """``Foo.jpg``, ``Image:Foo.jpg`` or ``File:Foo.jpg`` -> ``File:Foo.jpg``."""
    title = normalize_title(name)
    return title if title.startswith("File:") else normalize_title(f"File:{title}")


def page_url(wiki_base: str, title: str) -> str:
    """``https://commons.wikimedia.org/wiki/`` + the title, percent-encoded."""
    return wiki_base.rstrip("/") + "/" + quote(title.replace(" ", "_"), safe=_PATH_SAFE)


def file_path_url(wiki_base: str, title: str, width: int | None = None) -> str:
    """``Special:FilePath`` redirect to the original (or a ``width`` px thumbnail)."""
    name = file_title(title).split(":", 1)[1]
    url = page_url(wiki_base, f"Special:FilePath/{name}")
    return f"{url}?{urlencode({'width': width})}" if width else url


def upload_urls(upload_host: str, title: str, width: int) -> tuple[str, str]:
    """(a ``width`` px thumbnail, the original) of a Commons file on the upload host, by
    MediaWiki's hashed upload paths (no API call; the thumbnail exists for standard widths)."""
    key = file_title(title).split(":", 1)[1].replace(" ", "_")
    digest = hashlib.md5(key.encode("utf-8"), usedforsecurity=False).hexdigest()
    quoted = quote(key, safe=";@$!*(),~:")
    base = f"{upload_host.rstrip('/')}/wikipedia/commons"
    hashed = f"{digest[0]}/{digest[:2]}/{quoted}"
    return f"{base}/thumb/{hashed}/{width}px-{quoted}", f"{base}/{hashed}"
