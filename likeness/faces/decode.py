"""Untrusted image bytes -> RGB uint8 pixels, or a DecodeError with a stable kind.

Runs in the pool's child process (Pillow's decoders parse hostile input there, under rlimits).
The image is returned as it is displayed: EXIF orientation applied, so boxes measured on it
match what a browser shows.
"""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from likeness.faces.limits import DEFAULT_MAX_DETECT_PIXELS, DecodeLimits
from likeness.faces.types import ImageError

_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_WIDE_GREY_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
_TEXT_STARTS = (b"<", b"{", b"[")
# Signatures of formats Commons serves: recognised, but Pillow could not parse the header.
_IMAGE_MAGIC = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
)


class DecodeError(Exception):
    """Bytes that cannot become an RGB image; ``kind`` is an ImageError kind."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message

    def to_result(self) -> ImageError:
        return ImageError(self.kind, self.message)


def decode_image(data: bytes, limits: DecodeLimits | None = None) -> Image.Image:
    """Bytes -> a loaded RGB PIL image, oriented as displayed (first frame if animated)."""
    limits = limits or DecodeLimits()
    if not data:
        raise DecodeError("empty", "no bytes (empty response body?)")
    if len(data) > limits.max_bytes:
        raise DecodeError("too_large", f"{len(data)} bytes, limit {limits.max_bytes}")
    # Never hand back half an image: Pillow pads truncated files with grey when this is True.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    with warnings.catch_warnings():
        # Our own pixel check below is stricter than Pillow's warning threshold.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        img = _open(data, limits)
        _load(img, data)
    img = _orient(img)
    return _to_rgb(img)


def decode_to_array(
    data: bytes,
    limits: DecodeLimits | None = None,
    max_width: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_DETECT_PIXELS,
) -> np.ndarray:
    """Bytes -> HxWx3 uint8 array, scaled down to max_width / max_pixels if given."""
    img = scale_down(decode_image(data, limits), max_width, max_pixels)
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def scale_down(
    img: Image.Image, max_width: int | None = None, max_pixels: int | None = None
) -> Image.Image:
    """Shrink (never enlarge) keeping the aspect ratio; boxes as fractions are unaffected."""
    width, height = img.size
    factor = 1.0
    if max_width and width > max_width:
        factor = max_width / width
    if max_pixels and width * height * factor * factor > max_pixels:
        factor = (max_pixels / (width * height)) ** 0.5
    if factor >= 1.0:
        return img
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _open(data: bytes, limits: DecodeLimits) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise _classify_unidentified(data) from None
    except Image.DecompressionBombError as exc:
        raise DecodeError("too_large", f"over {limits.max_pixels} pixels ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _classify_broken(exc, data) from None
    width, height = img.size
    if width <= 0 or height <= 0:
        raise DecodeError("corrupt", f"image claims size {width}x{height}")
    if width * height > limits.max_pixels:
        raise DecodeError(
            "too_large",
            f"{width}x{height} = {width * height} pixels, limit {limits.max_pixels}",
        )
    return img


def _load(img: Image.Image, data: bytes) -> None:
    """Decode the pixels of the first frame (the one a thumbnail shows)."""
    try:
        img.seek(0)
        img.load()
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        raise _classify_broken(exc, data) from None


def _orient(img: Image.Image) -> Image.Image:
    try:
        oriented = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - a broken EXIF block should not lose the picture
        return img
    return oriented if oriented is not None else img


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    try:
        if mode in _WIDE_GREY_MODES:
            return Image.fromarray(_wide_grey_to_uint8(np.asarray(img)), "L").convert("RGB")
        if mode in _ALPHA_MODES or (mode == "P" and "transparency" in img.info):
            return _on_white(img.convert("RGBA"))
        if mode == "RGB":
            return img
        return img.convert("RGB")
    except (ValueError, OSError) as exc:
        message = f"cannot convert image mode {mode} to RGB: {exc}"
        raise DecodeError("unsupported", message) from None


def _wide_grey_to_uint8(arr: np.ndarray) -> np.ndarray:
    """16-bit, 32-bit int or float greyscale -> 8 bits (Pillow would clip, not scale)."""
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr.astype(np.float64))
        top = 1.0 if arr.size and arr.max() <= 1.0 else 255.0
        return np.clip(arr * (255.0 / top), 0, 255).round().astype(np.uint8)
    values = arr.astype(np.int64)
    if values.size and values.max() > 255:  # a 16-bit range
        return np.clip(values / 257.0, 0, 255).round().astype(np.uint8)
    return np.clip(values, 0, 255).astype(np.uint8)


def _on_white(rgba: Image.Image) -> Image.Image:
    """Composite on white: transparent areas of logos/cut-outs should not become black."""
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _classify_unidentified(data: bytes) -> DecodeError:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(_TEXT_STARTS) or b"<html" in head or b"<!doctype" in head:
        if b"<svg" in head:
            return DecodeError("unsupported", "SVG is a vector format; fetch a PNG thumbnail")
        return DecodeError("html", f"a text/HTML page, not an image: {_preview(head)}")
    if data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        if _riff_truncated(data):
            return DecodeError("truncated", "RIFF header announces more bytes than received")
        return DecodeError("corrupt", f"broken image header: {data[:16].hex()}")
    if _looks_like_text(data[:512]):
        return DecodeError("html", f"text, not an image: {_preview(head)}")
    return DecodeError("not_an_image", f"unrecognised image format: {data[:16].hex()}")


def _classify_broken(exc: BaseException, data: bytes) -> DecodeError:
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "truncated" in lowered or isinstance(exc, EOFError) or "premature end" in lowered:
        return DecodeError("truncated", text)
    if _riff_truncated(data):  # libwebp only says "could not create decoder object"
        text = f"RIFF header announces more bytes than the {len(data)} received ({text})"
        return DecodeError("truncated", text)
    if "decompression bomb" in lowered:
        return DecodeError("too_large", text)
    if "not supported" in lowered or "unsupported" in lowered or "unknown raw mode" in lowered:
        return DecodeError("unsupported", text)
    return DecodeError("corrupt", f"{type(exc).__name__}: {text}")


def _riff_truncated(data: bytes) -> bool:
    if len(data) < 12 or not data.startswith(b"RIFF"):
        return False
    return struct.unpack("<I", data[4:8])[0] + 8 > len(data)


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the sample
            return False
        text = head[: exc.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return bool(text) and printable / len(text) > 0.95


def _preview(head: bytes) -> str:
    return repr(head[:60].decode("utf-8", "replace"))
