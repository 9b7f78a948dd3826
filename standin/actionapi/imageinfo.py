"""prop=imageinfo: original and thumbnail URLs, sizes, MIME types and extmetadata."""

from __future__ import annotations

from typing import Any

from standin.actionapi.context import ApiContext, Urls
from standin.naming import dbkey, hash_path, strip_namespace, wf_urlencode
from standin.state import FilePage

STANDARD_WIDTHS = (120, 250, 330, 500, 960, 1280, 1920, 3840)
TRANSFORM_LIMIT = 50  # ApiQueryImageInfo::TRANSFORM_LIMIT


def original_url(urls: Urls, page: FilePage) -> str:
    name = dbkey(strip_namespace(page.title))
    return f"{urls.upload}/wikipedia/commons/{hash_path(name)}/{wf_urlencode(name)}"


def thumb_url(urls: Urls, page: FilePage, width: int) -> str:
    name = wf_urlencode(name_of(page))
    hp = hash_path(name_of(page))
    return f"{urls.upload}/wikipedia/commons/thumb/{hp}/{name}/{width}px-{name}"


def name_of(page: FilePage) -> str:
    return dbkey(strip_namespace(page.title))


def description_url(urls: Urls, title: str) -> str:
    return urls.wiki("commons") + wf_urlencode(dbkey(title))


def bucket(width: int, original_width: int) -> int:
    """The standard width Commons renders for a request of ``width`` pixels."""
    for step in STANDARD_WIDTHS:
        if step >= width:
            return step if step < original_width else width
    return width


def scale_height(page: FilePage, width: int) -> int:
    return max(1, round(page.height * width / page.width))


def thumb_fields(ctx: ApiContext, page: FilePage, want_w: int | None,
                 want_h: int | None) -> dict[str, Any]:
    """thumburl/thumbwidth/thumbheight as Commons reports them.

    The URL names the standard bucket while thumbwidth/thumbheight keep the requested scale
    (observed on Commons 2025-26); ``settings.thumb_report = "bucket"`` reports the bucket size.
    Requests at or above the original size get the original.
    """
    width = want_w or page.width
    if want_h:
        width = min(width, max(1, page.width * want_h // page.height))
    if width >= page.width:
        return {"thumburl": original_url(ctx.urls, page), "thumbwidth": page.width,
                "thumbheight": page.height}
    step = bucket(width, page.width)
    shown = step if ctx.world.settings.thumb_report == "bucket" else width
    fields: dict[str, Any] = {"thumburl": thumb_url(ctx.urls, page, step),
                              "thumbwidth": shown, "thumbheight": scale_height(page, shown)}
    return fields


def responsive(ctx: ApiContext, page: FilePage, width: int) -> dict[str, str]:
    out = {}
    for factor, key in ((1.5, "1.5"), (2, "2")):
        w = round(width * factor)
        if w < page.width:
            out[key] = thumb_url(ctx.urls, page, bucket(w, page.width))
    return out


def extmetadata(ctx: ApiContext, page: FilePage) -> dict[str, Any]:
    name = strip_namespace(page.title).rsplit(".", 1)[0]
    cats = "|".join(c.split(":", 1)[1] for c in page.categories)
    full = {
        "DateTime": (page.timestamp.replace("T", " ").rstrip("Z"), "mediawiki-metadata", True),
        "ObjectName": (name, "mediawiki-metadata", True),
        "CommonsMetadataExtension": (1.2, "extension", True),
        "Categories": (cats, "commons-categories", True),
        "Assessments": ("", "commons-categories", True),
        "ImageDescription": (page.description, "commons-desc-page", False),
        "DateTimeOriginal": (page.timestamp[:10], "commons-desc-page", False),
        "Credit": ('<span class="int-own-work" lang="en">Own work</span>', "commons-desc-page",
                   True),
        "Artist": (page.artist, "commons-desc-page", False),
        "LicenseShortName": (page.license, "commons-desc-page", True),
        "UsageTerms": (page.license, "commons-desc-page", True),
        "AttributionRequired": ("true", "commons-desc-page", True),
        "Attribution": (f"{page.artist}, Likeness stand-in", "commons-desc-page", True),
        "LicenseUrl": ("https://example.invalid/likeness-standin-test-only",
                       "commons-desc-page", True),
        "Copyrighted": ("True", "commons-desc-page", True),
        "Restrictions": ("personality", "commons-desc-page", True),
        "License": ("standin-test-only", "commons-templates", True),
    }
    wanted = ctx.multi("iiextmetadatafilter", None)
    out: dict[str, Any] = {}
    for key, (value, source, hidden) in full.items():
        if wanted and key not in wanted:
            continue
        entry: dict[str, Any] = {"value": value, "source": source}
        if hidden:
            entry["hidden"] = ""  # stays "" in formatversion 2 as well
        out[key] = entry
    return out


def info_for(ctx: ApiContext, page: FilePage, props: set[str], want_w: int | None,
             want_h: int | None) -> dict[str, Any]:
    info: dict[str, Any] = {}
    if "timestamp" in props:
        info["timestamp"] = page.uploaded or page.timestamp
    if "user" in props:
        info["user"] = page.uploader
    if "userid" in props:
        user = ctx.world.users.get(page.uploader)
        info["userid"] = user.id if user else 0
    if "size" in props or "dimensions" in props:
        info.update({"size": page.size, "width": page.width, "height": page.height})
    if "comment" in props:
        info["comment"] = "Uploaded for the Likeness stand-in"
    if "canonicaltitle" in props:
        info["canonicaltitle"] = page.title
    if "url" in props:
        if want_w or want_h:
            thumb = thumb_fields(ctx, page, want_w, want_h)
            info.update(thumb)
            if "thumbmime" in props:
                info["thumbmime"] = page.mime
            if thumb["thumbwidth"] < page.width:
                resp = responsive(ctx, page, thumb["thumbwidth"])
                if resp:
                    info["responsiveUrls"] = resp
        info["url"] = original_url(ctx.urls, page)
        info["descriptionurl"] = description_url(ctx.urls, page.title)
        info["descriptionshorturl"] = f"{ctx.urls.index('commons')}?curid={page.pageid}"
    if "sha1" in props:
        info["sha1"] = page.sha1
    if "extmetadata" in props:
        info["extmetadata"] = extmetadata(ctx, page)
    if "mime" in props:
        info["mime"] = page.mime
    if "mediatype" in props:
        info["mediatype"] = "BITMAP"
    if "bitdepth" in props:
        info["bitdepth"] = 8
    return info


def _int(ctx: ApiContext, name: str) -> int | None:
    raw = ctx.get(name)
    return int(raw) if raw and raw.lstrip("-").isdigit() and int(raw) > 0 else None


def add_imageinfo(ctx: ApiContext, pages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Fill ``imageinfo`` into file pages (sorted by title, as MediaWiki walks them), at most
    50 thumbnails per request; returns ``{"iicontinue": ...}`` when some pages were left."""
    props = set(ctx.multi("iiprop") or ["timestamp", "user"])
    want_w, want_h = _int(ctx, "iiurlwidth"), _int(ctx, "iiurlheight")
    transforms = "url" in props and (want_w or want_h)
    cont = ctx.get("iicontinue")
    start_key = cont.split("|", 1)[0] if cont else None
    done = 0
    left: dict[str, Any] | None = None
    files = sorted((p for p in pages if p.get("ns") == 6), key=lambda p: dbkey(p["title"]))
    for entry in files:
        name = dbkey(strip_namespace(entry["title"]))
        if "missing" in entry or "invalid" in entry:
            entry["imagerepository"] = ""
            continue
        page = ctx.world.files[entry["pageid"]]
        entry["imagerepository"] = "local"
        if left is not None or (start_key is not None and name < start_key):
            continue
        if transforms and done >= TRANSFORM_LIMIT:
            ts = page.timestamp.replace("-", "").replace(":", "").replace("T", "").rstrip("Z")
            left = {"iicontinue": f"{name}|{ts}"}
            continue
        entry["imageinfo"] = [info_for(ctx, page, props, want_w, want_h)]
        done += 1
    return left
