"""Size limits for untrusted images, shared by the parent (pool settings) and the child."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_BYTES = 50_000_000
# Checked on the header, before any pixel is decoded: 50 MP of RGB is 150 MB.
DEFAULT_MAX_PIXELS = 50_000_000
# Detection cost and memory grow with area (HOG upsamples 2x): larger images are scaled down
# to this many pixels first (boxes are fractions, so nothing else changes). 8 MP keeps a
# 1280 x 6250 thumbnail whole; measured child peak: 725 MB VmPeak for a 6000x4000 input,
# 775 MB for a 49 MP PNG (1.1 GB at a 16 MP cap), well inside the 1536 MB RLIMIT_AS.
DEFAULT_MAX_DETECT_PIXELS = 8_000_000


@dataclass(frozen=True)
class DecodeLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
