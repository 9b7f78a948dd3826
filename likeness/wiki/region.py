"""P2677 region values: IIIF ``pct:x,y,w,h``, percentages of the ORIGINAL image.

Boxes are found on thumbnails; percentages make them independent of the thumbnail size, so a
box found at 1280 px is written correctly for a 6000 px original.
"""

from __future__ import annotations

import re

_PCT_RE = re.compile(r"^pct:([0-9.]+),([0-9.]+),([0-9.]+),([0-9.]+)$")
_EPS = 0.02


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def format_region(x: float, y: float, w: float, h: float) -> str:
    """``format_region(8.5, 12.25, 30, 61.5) == "pct:8.5,12.25,30,61.5"`` (2 decimals)."""
    x, y, w, h = (round(float(v), 2) for v in (x, y, w, h))
    # Rounding may push the far edge a hair past 100 %; pull it back rather than fail.
    if 100 < x + w <= 100 + _EPS:
        w = round(100 - x, 2)
    if 100 < y + h <= 100 + _EPS:
        h = round(100 - y, 2)
    if min(x, y) < 0 or w <= 0 or h <= 0 or x + w > 100 + _EPS or y + h > 100 + _EPS:
        raise ValueError(f"region outside the image: x={x} y={y} w={w} h={h} (percent)")
    return f"pct:{_num(x)},{_num(y)},{_num(w)},{_num(h)}"


def parse_region(value: str) -> tuple[float, float, float, float]:
    """``"pct:8.5,12.25,30,61.5"`` -> (8.5, 12.25, 30.0, 61.5); ValueError for other forms."""
    match = _PCT_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"not a pct:x,y,w,h region: {value!r}")
    x, y, w, h = (float(g) for g in match.groups())
    format_region(x, y, w, h)   # same bounds check
    return x, y, w, h


def box_to_region(left: float, top: float, right: float, bottom: float,
                  width: float, height: float) -> str:
    """A pixel box on an image of ``width`` x ``height`` (any scale) -> ``pct:`` region."""
    if width <= 0 or height <= 0:
        raise ValueError("image size must be positive")
    left, right = max(0.0, left), min(float(width), right)
    top, bottom = max(0.0, top), min(float(height), bottom)
    if right <= left or bottom <= top:
        raise ValueError(f"empty box ({left},{top})-({right},{bottom})")
    return format_region(100 * left / width, 100 * top / height,
                         100 * (right - left) / width, 100 * (bottom - top) / height)
