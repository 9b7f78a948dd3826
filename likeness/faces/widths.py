"""Which thumbnail width the worker asks Commons for before detecting faces.

Commons serves these widths from its cache without throttling; read ``thumbwidth`` from the
API answer rather than assuming one (an original narrower than the request comes back as is).

THUMB_WIDTH = 1280, measured with bench/thumb_width.py on ../shared/faces/groups/ (22 group
photos, 118 faces found at full size, HOG upsample 1), recall vs full size:
    500 px: 0.79 (0.69 on the photos wider than 1000 px; 13 faces -> 1 on one band photo)
    960 px: 0.99 (0.98 on wide photos; loses a face on a 1024 px photo)
   1280 px: 1.00 (1.00), 1920 px: 1.00 (1.00)
HOG finds faces down to about 37 px wide with upsample 1, so 1280 px keeps faces of 3 % of the
image width. HOG time grows with area (1280x960: 0.43 s, 1920x1440: 0.92 s, upsample 1); each
face then costs about 70-80 ms to encode, which dominates for group photos.
"""

from __future__ import annotations

COMMONS_WIDTHS = (250, 330, 500, 960, 1280, 1920)
THUMB_WIDTH = 1280


def thumb_width_for(requested: int = THUMB_WIDTH) -> int:
    """The smallest standard Commons width at least ``requested`` (or the largest one)."""
    for width in COMMONS_WIDTHS:
        if width >= requested:
            return width
    return COMMONS_WIDTHS[-1]
