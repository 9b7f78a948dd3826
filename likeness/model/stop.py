"""When to stop asking: how many faces the model is unsure about, how many targets it expects
it has not found, and whether more answers are likely to find any.

The scores are calibrated probabilities, so among the faces the model does not propose (best
face per image without a confirmed target) the expected number of targets is the sum of their
scores. Most of that sum may be spread thinly over hundreds of faces that each score 0.001:
asking about them one by one would find next to nothing. So the work is done for now when the
next LOOKAHEAD questions, the best remaining faces, are expected to find fewer than
DONE_EXPECTED targets; the queue then stops offering faces below UNLIKELY unless the labeller
asks for them. A face is uncertain when its score lies between UNLIKELY and the proposal
threshold: an answer there can still change what is proposed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

UNLIKELY = 0.05       # below this score a face is not worth a question once the work is done
LOOKAHEAD = 10        # "the next ten questions would find ..."
DONE_EXPECTED = 0.5   # ... fewer targets than this: done for now
_Z = 1.64             # one-sided 95 % for the upper end of "about lo-hi left"


@dataclass(frozen=True)
class StopEstimate:
    n_uncertain: int       # unanswered candidates scoring in [UNLIKELY, threshold)
    expected_left: float   # expected targets among all unanswered candidates below threshold
    expected_next: float   # ... among the LOOKAHEAD best of them

    @property
    def done(self) -> bool:
        return is_done(self.expected_next)


def estimate(scores: np.ndarray, candidates: np.ndarray, threshold: float) -> StopEstimate:
    """scores: every face's calibrated score; candidates: unanswered faces that could still be
    proposed (constraints.candidates: best per image, no confirmed target on the image)."""
    below = np.asarray(scores, np.float64)[np.asarray(candidates, bool)]
    below = np.sort(below[below < threshold])[::-1]
    return StopEstimate(n_uncertain=int(np.count_nonzero(below >= UNLIKELY)),
                        expected_left=float(below.sum()),
                        expected_next=float(below[:LOOKAHEAD].sum()))


def is_done(expected_next: float | None) -> bool:
    """Further answers are unlikely to find more (False before any model run)."""
    return expected_next is not None and expected_next < DONE_EXPECTED


def left_range(expected_left: float) -> tuple[int, int]:
    """"About lo-hi left": the expected count with a Poisson-like margin, in whole faces."""
    if expected_left <= 0:
        return 0, 0
    spread = _Z * math.sqrt(expected_left)
    return (max(0, math.floor(expected_left - spread)),
            max(1, math.ceil(expected_left + spread)))
