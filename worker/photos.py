"""Which Commons files are photographs worth detecting faces on: by extension when listed, by
MIME type when processed."""

from __future__ import annotations

# Raster formats Commons renders as photographs. Not: svg (drawings), pdf/djvu (documents),
# ogg/oga/opus/mp3/wav/flac/mid (audio), ogv/webm/mpg/mpeg (video), stl (3D), xcf (layers).
PHOTO_EXTENSIONS = frozenset({"jpg", "jpeg", "jpe", "png", "gif", "webp", "tif", "tiff"})
NOT_PHOTO_MIMES = frozenset({"image/svg+xml", "image/vnd.djvu", "image/x-xcf"})


def is_photo_title(title: str) -> bool:
    return title.rsplit(".", 1)[-1].lower() in PHOTO_EXTENSIONS if "." in title else False


def is_photo_mime(mime: str) -> bool:
    mime = (mime or "").lower()
    return mime.startswith("image/") and mime not in NOT_PHOTO_MIMES
