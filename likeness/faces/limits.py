"""Size limits for untrusted images, shared by the parent (pool settings) and the child."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_BYTES = 50_000_000
# Checked on the header, before any pixel is decoded: 50 MP of RGB is 150 MB.
DEFAULT_MAX_PIXELS = 50_000_000
# Detection cost and memory grow with area (HOG upsamples 2x): larger images are scaled down
# to this many pixels first. 16 MP still holds a 1920 x 8000 scan at full size.
DEFAULT_MAX_DETECT_PIXELS = 16_000_000


@dataclass(frozen=True)
class DecodeLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
