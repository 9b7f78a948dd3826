"""Values that cross the process boundary: boxes, faces, tasks and their outcomes.

Everything here is plain data (floats, ints, str, bytes) so the parent can use it without numpy
or dlib, and so results can travel from a child as JSON rather than pickle (a child that parsed
hostile bytes must not be able to run code in the parent through the unpickler).

A box is stored as fractions of the image *as decoded* (after EXIF orientation), never as
pixels: fractions mean the same region at every thumbnail width, which is what makes it
impossible to apply coordinates from one resolution to another.
"""

from __future__ import annotations

import base64
import math
import re
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is only needed by callers that ask for arrays
    import numpy as np

# P2677 regions carry 1 decimal (0.1 %: 4 px on a 4000 px photo), finer than any face box is
# accurate.
REGION_DECIMALS = 1
ENCODING_DIM = 128
ENCODING_BYTES = ENCODING_DIM * 4  # float32, little-endian
_EPS = 1e-6  # boxes come back from FLOAT (float32) columns; 1e-6 is 0.006 px at 6000 px
_PCT_RE = re.compile(
    r"^pct:\s*([0-9.]+)\s*,\s*([0-9.]+)\s*,\s*([0-9.]+)\s*,\s*([0-9.]+)\s*$", re.IGNORECASE
)


class BoxError(ValueError):
    """A box that is not a non-empty region inside the image."""


@dataclass(frozen=True)
class Box:
    """A rectangle as fractions in [0, 1] of the decoded image's width and height."""

    left: float
    top: float
    width: float
    height: float

    def __post_init__(self) -> None:
        values = (self.left, self.top, self.width, self.height)
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            raise BoxError(f"box values must be finite numbers: {values}")
        if self.left < 0 or self.top < 0:
            raise BoxError(f"box starts outside the image: left={self.left}, top={self.top}")
        if self.width <= 0 or self.height <= 0:
            raise BoxError(f"box is empty: width={self.width}, height={self.height}")
        if self.left + self.width > 1 + _EPS or self.top + self.height > 1 + _EPS:
            raise BoxError(f"box ends outside the image: {self}")

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @classmethod
    def from_pixels(
        cls,
        left: float,
        top: float,
        right: float,
        bottom: float,
        image_width: int,
        image_height: int,
    ) -> Box:
        """Box from pixel edges (right/bottom exclusive), clamped to the image."""
        if image_width <= 0 or image_height <= 0:
            raise BoxError(f"image size must be positive: {image_width}x{image_height}")
        left_c = min(max(left, 0), image_width)
        right_c = min(max(right, 0), image_width)
        top_c = min(max(top, 0), image_height)
        bottom_c = min(max(bottom, 0), image_height)
        if right_c <= left_c or bottom_c <= top_c:
            raise BoxError(
                f"box ({left}, {top}, {right}, {bottom}) has no area inside "
                f"{image_width}x{image_height}"
            )
        return cls(
            left_c / image_width,
            top_c / image_height,
            (right_c - left_c) / image_width,
            (bottom_c - top_c) / image_height,
        )

    def to_pixels(self, image_width: int, image_height: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in whole pixels, right/bottom exclusive, inside the image.

        Edges are rounded independently so adjacent boxes stay adjacent; a box never collapses
        to zero pixels.
        """
        left = min(round(self.left * image_width), image_width - 1)
        top = min(round(self.top * image_height), image_height - 1)
        right = max(min(round(self.right * image_width), image_width), left + 1)
        bottom = max(min(round(self.bottom * image_height), image_height), top + 1)
        return left, top, right, bottom

    def to_iiif(self, decimals: int = REGION_DECIMALS) -> str:
        """IIIF region ``pct:x,y,w,h`` (percent), as the P2677 qualifier expects; the one
        place a region is written.

        Rounded to ``decimals`` and kept inside the image after rounding: x + w never exceeds
        100, and a box in the far corner keeps one rounding step of width.
        """
        scale = 10**decimals

        def pct(value: float) -> int:
            return round(value * 100 * scale)

        x, y = min(pct(self.left), 100 * scale - 1), min(pct(self.top), 100 * scale - 1)
        w = max(min(pct(self.width), 100 * scale - x), 1)
        h = max(min(pct(self.height), 100 * scale - y), 1)
        return "pct:" + ",".join(_format_scaled(v, scale) for v in (x, y, w, h))

    @classmethod
    def from_iiif(cls, region: str) -> Box:
        """Parse ``pct:x,y,w,h``; BoxError unless it is a non-empty region inside the image."""
        match = _PCT_RE.match(region or "")
        if not match:
            raise BoxError(f"not a IIIF percent region: {region!r}")
        try:
            x, y, w, h = (float(g) / 100 for g in match.groups())
        except ValueError as exc:
            raise BoxError(f"not a IIIF percent region: {region!r}") from exc
        return cls(x, y, w, h)

    def iou(self, other: Box) -> float:
        """Intersection over union, in [0, 1] (e.g. to match faces across detections)."""
        width = max(0.0, min(self.right, other.right) - max(self.left, other.left))
        height = max(0.0, min(self.bottom, other.bottom) - max(self.top, other.top))
        inter = width * height
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.left, self.top, self.width, self.height)


def _format_scaled(value: int, scale: int) -> str:
    """12345 with scale 100 -> '123.45'; trailing zeros dropped ('50', '12.5')."""
    whole, frac = divmod(value, scale)
    if frac == 0:
        return str(whole)
    digits = len(str(scale)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0")


def pack_encoding(values: Any) -> bytes:
    """128 numbers -> 512 bytes of little-endian float32 (how encodings are stored)."""
    floats = [float(v) for v in values]
    if len(floats) != ENCODING_DIM:
        raise ValueError(f"an encoding has {ENCODING_DIM} values, got {len(floats)}")
    return struct.pack(f"<{ENCODING_DIM}f", *floats)


def encoding_to_array(encoding: bytes) -> np.ndarray:
    """512 stored bytes -> numpy float32 array of shape (128,)."""
    import numpy as np

    if len(encoding) != ENCODING_BYTES:
        raise ValueError(f"an encoding is {ENCODING_BYTES} bytes, got {len(encoding)}")
    return np.frombuffer(encoding, dtype="<f4").astype(np.float32)


def array_to_encoding(array: Any) -> bytes:
    """numpy array (any float dtype) of 128 values -> 512 stored bytes."""
    import numpy as np

    arr = np.asarray(array, dtype="<f4").reshape(-1)
    if arr.shape != (ENCODING_DIM,):
        raise ValueError(f"an encoding has {ENCODING_DIM} values, got shape {arr.shape}")
    return arr.tobytes()


@dataclass(frozen=True)
class DetectedFace:
    """One face: where it is and its 128-D encoding (512 bytes of float32 LE).

    ``score`` is the HOG detector's confidence; None for a box a person drew.
    """

    box: Box
    encoding: bytes
    score: float | None = None

    def __post_init__(self) -> None:
        if len(self.encoding) != ENCODING_BYTES:
            raise ValueError(f"an encoding is {ENCODING_BYTES} bytes, got {len(self.encoding)}")

    def array(self) -> np.ndarray:
        return encoding_to_array(self.encoding)


@dataclass(frozen=True)
class DetectResult:
    """Faces found in one image; width/height are of the image as decoded (after rotation).

    ``elapsed`` is the child's wall time for decode + detect + encode, in seconds.
    """

    width: int
    height: int
    faces: tuple[DetectedFace, ...] = ()
    elapsed: float = 0.0

    ok = True


# Stable codes for ImageError.kind. The worker may store them; do not rename.
ERROR_KINDS = {
    "empty": "no bytes at all",
    "html": "an HTML or text page served instead of an image",
    "not_an_image": "bytes no image decoder recognises",
    "truncated": "the file ends early (interrupted download?)",
    "corrupt": "recognised format, but the data is broken",
    "too_large": "more pixels or bytes than allowed (decompression bomb guard)",
    "unsupported": "an image mode or format we cannot turn into RGB",
    "bad_box": "a box with too few pixels in this image",
    "timeout": "the task ran past its wall-clock deadline; the child was killed",
    "cpu": "the task used up its CPU budget (RLIMIT_CPU); the child was killed",
    "memory": "the task ran out of memory (RLIMIT_AS)",
    "crashed": "the child died while working on this task (segfault, abort, exit)",
    "internal": "an unexpected error in our code; the message has the details",
}
MAX_ERROR_MESSAGE = 480
# Kinds that say more about the download or the machine than about the file: worth a retry.
RETRYABLE_KINDS = frozenset({"empty", "html", "truncated", "timeout", "cpu", "memory", "crashed"})


@dataclass(frozen=True)
class ImageError:
    """The typed outcome of a task that produced no faces because something went wrong."""

    kind: str
    message: str

    ok = False

    def __post_init__(self) -> None:
        if self.kind not in ERROR_KINDS:
            raise ValueError(f"unknown ImageError kind {self.kind!r}")
        if len(self.message) > MAX_ERROR_MESSAGE:  # fits images.last_error (500)
            object.__setattr__(self, "message", self.message[: MAX_ERROR_MESSAGE - 3] + "...")

    @property
    def retryable(self) -> bool:
        """True when the same bytes (or a fresh download) may well succeed later."""
        return self.kind in RETRYABLE_KINDS

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


TaskResult = DetectResult | ImageError

DEFAULT_UPSAMPLE = 1
MAX_UPSAMPLE = 3  # each step quadruples HOG's work


@dataclass(frozen=True)
class DetectTask:
    """Find and encode every face in ``data`` (the image file's bytes).

    ``max_width``: if set, a wider image is scaled down to it before detection (boxes are
    fractions, so they do not change meaning).
    """

    task_id: Any
    data: bytes = field(repr=False)
    upsample: int = DEFAULT_UPSAMPLE
    max_width: int | None = None

    def __post_init__(self) -> None:
        _check_data(self.data)
        if not isinstance(self.upsample, int) or not 0 <= self.upsample <= MAX_UPSAMPLE:
            raise ValueError(f"upsample must be an int in 0..{MAX_UPSAMPLE}: {self.upsample!r}")
        if self.max_width is not None and self.max_width < 1:
            raise ValueError(f"max_width must be positive: {self.max_width}")


@dataclass(frozen=True)
class EncodeBoxTask:
    """Encode the region ``box`` (fractions of the decoded image) of ``data``, no detection."""

    task_id: Any
    data: bytes = field(repr=False)
    box: Box = field(default_factory=lambda: Box(0, 0, 1, 1))

    def __post_init__(self) -> None:
        _check_data(self.data)
        if not isinstance(self.box, Box):
            raise TypeError(f"box must be a Box (fractions), not {type(self.box).__name__}")


def _check_data(data: object) -> None:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"image data must be bytes, not {type(data).__name__}")


@dataclass(frozen=True)
class TestTask:
    """Misbehaviour on demand, for tests: only a pool made with allow_test_tasks=True runs it.

    action: "segfault", "exit", "hang", "spin" (burn CPU), "allocate" (``arg`` MiB),
    "limits" (report rlimits), "echo", "modules" (report whether dlib is loaded).
    """

    __test__ = False  # not a pytest test class

    task_id: Any
    action: str
    arg: float = 0.0


Task = DetectTask | EncodeBoxTask | TestTask


# --- JSON wire format (child -> parent) -------------------------------------------------------


def result_to_wire(result: TaskResult | dict[str, Any]) -> dict[str, Any]:
    if isinstance(result, dict):  # a TestTask's report
        return {"info": result}
    if isinstance(result, ImageError):
        return {"error": {"kind": result.kind, "message": result.message}}
    return {
        "width": result.width,
        "height": result.height,
        "elapsed": result.elapsed,
        "faces": [
            {
                "box": list(face.box.as_tuple()),
                "encoding": base64.b64encode(face.encoding).decode("ascii"),
                "score": face.score,
            }
            for face in result.faces
        ],
    }


def result_from_wire(data: dict[str, Any]) -> TaskResult | dict[str, Any]:
    if "info" in data:
        return dict(data["info"])
    if "error" in data:
        return ImageError(str(data["error"]["kind"]), str(data["error"]["message"]))
    faces = tuple(
        DetectedFace(
            box=Box(*(float(v) for v in face["box"])),
            encoding=base64.b64decode(face["encoding"], validate=True),
            score=None if face.get("score") is None else float(face["score"]),
        )
        for face in data["faces"]
    )
    return DetectResult(int(data["width"]), int(data["height"]), faces, float(data["elapsed"]))
