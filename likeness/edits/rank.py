"""The rank of a new depicts statement: "preferred" (shown as *prominent* on Commons) when the
person's face is the main subject of the photo, as WikiCrowd and Depictor mark it; else
"normal".

The rule, from the boxes of every face on the file (the project's active faces, drawn ones
included, not those people called "not a face"): the face is at least PROMINENT_SHARE of the
image's area and at least PROMINENT_DOMINANCE times the area of every other face. Checked on
../shared/faces (faces_detected.tsv, HOG boxes at full size): every portrait in people/ passes
(one face, 3.4 % of the image at least, 17 % typically); no group photo in groups/ does (the
largest face is at most 2.06 times the next, and a lone face in a crowd shot covers 0.75 %).

Only statements this tool creates get a rank; it never changes the rank of an existing one.
"""

from __future__ import annotations

from collections.abc import Iterable

PROMINENT_SHARE = 0.02
PROMINENT_DOMINANCE = 3.0

Box = tuple[float, float, float, float]  # left, top, width, height (fractions of the image)


def rank_for(face: Box, others: Iterable[Box]) -> str:
    """'preferred' when ``face`` is the main subject among ``others``, else 'normal'."""
    area = face[2] * face[3]
    if area < PROMINENT_SHARE:
        return "normal"
    if any(other[2] * other[3] * PROMINENT_DOMINANCE > area for other in others):
        return "normal"
    return "preferred"
