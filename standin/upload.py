"""The upload host: originals and thumbnails rendered on demand (Pillow, cached in memory).

URLs follow upload.wikimedia.org: ``/wikipedia/commons/a/ab/Name.jpg`` and
``/wikipedia/commons/thumb/a/ab/Name.jpg/330px-Name.jpg``.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from email.utils import formatdate

from PIL import Image, ImageOps
from werkzeug.wrappers import Response

from standin.actionapi.imageinfo import STANDARD_WIDTHS, scale_height
from standin.naming import hash_path
from standin.state import FilePage, World

FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


class ThumbCache:
    """Rendered thumbnails by (SHA-1, width), least recently used dropped past ``limit``."""

    def __init__(self, limit: int = 4000) -> None:
        self._lock = threading.Lock()
        self._data: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._limit = limit

    def get(self, page: FilePage, width: int) -> bytes:
        key = (page.sha1, width)
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
                return hit
        hit = render(page, width)
        with self._lock:
            self._data[key] = hit
            while len(self._data) > self._limit:
                self._data.popitem(last=False)
        return hit


def render(page: FilePage, width: int) -> bytes:
    """A thumbnail ``width`` pixels wide, in the original's format."""
    fmt = FORMATS.get(page.mime, "JPEG")
    with Image.open(page.path) as im:
        im = ImageOps.exif_transpose(im)
        if fmt == "JPEG" and im.mode not in ("RGB", "L", "CMYK"):
            im = im.convert("RGB")
        thumb = im.resize((width, scale_height(page, width)), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        thumb.save(out, fmt, **({"quality": 85} if fmt in ("JPEG", "WEBP") else {}))
    return out.getvalue()


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    resp = Response(text, status=status, content_type="text/html; charset=utf-8")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _find(world: World, hashdir: str, name: str) -> FilePage | None:
    page = world.file_by_title(f"File:{name}")
    if page is None or hash_path(name) != hashdir:
        return None
    return page


def serve(world: World, cache: ThumbCache, rest: str) -> tuple[Response, str]:
    """Answer ``/upload/wikipedia/commons/<rest>``; returns the response and the route name."""
    parts = rest.split("/")
    if parts and parts[0] == "thumb" and len(parts) == 5:
        _, a, ab, name, thumbname = parts
        return _thumb(world, cache, f"{a}/{ab}", name, thumbname), "upload.thumb"
    if len(parts) == 3:
        a, ab, name = parts
        page = _find(world, f"{a}/{ab}", name)
        if page is None:
            return _text(404, "<h1>Not Found</h1>"), "upload.original"
        return _bytes(page.path.read_bytes(), page), "upload.original"
    return _text(404, "<h1>Not Found</h1>"), "upload.other"


def _thumb(world: World, cache: ThumbCache, hashdir: str, name: str, thumbname: str) -> Response:
    page = _find(world, hashdir, name)
    prefix, sep, rest = thumbname.partition("px-")
    if page is None or not sep or rest != name or not prefix.isdigit():
        return _text(404, "<h1>Not Found</h1>")
    width = int(prefix)
    if width > page.width or width < 1:
        return _text(400, "<h1>Error generating thumbnail</h1><p>Image was not scaled, is the "
                          "requested width bigger than the source?</p>")
    if world.settings.strict_thumb_sizes and width not in STANDARD_WIDTHS and width != page.width:
        return _text(429, "Use thumbnail steps listed on https://w.wiki/GHai. Please contact "
                          "noc@wikimedia.org for further information (standin)",
                     {"Retry-After": "60"})
    return _bytes(cache.get(page, width), page)


def _bytes(data: bytes, page: FilePage) -> Response:
    resp = Response(data, content_type=page.mime)
    resp.headers["Cache-Control"] = "public, max-age=31536000"
    resp.headers["ETag"] = f'"{page.sha1}"'
    resp.headers["Last-Modified"] = formatdate(usegmt=True)
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp
