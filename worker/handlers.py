"""Which units of work a worker does, in the order it tries them each loop."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from worker.main import Worker


def register_handlers(worker: Worker) -> None:
    """Each area adds its handler here (crawl, images, jobs, training, edits)."""
