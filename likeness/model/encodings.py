"""Face encodings as bytes (the database column) and as float32 arrays (the maths).

One face is 128 little-endian float32 values, 512 bytes: the `detections.encoding` column.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

DIM = 128
NBYTES = DIM * 4
_DTYPE = np.dtype("<f4")


def to_bytes(encoding: np.ndarray) -> bytes:
    """One encoding (128,) as 512 little-endian bytes."""
    arr = np.asarray(encoding)
    if arr.shape != (DIM,):
        raise ValueError(f"an encoding has shape ({DIM},), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("encoding contains NaN or infinity")
    return arr.astype(_DTYPE).tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    """512 bytes as a float32 (128,) array."""
    if len(blob) != NBYTES:
        raise ValueError(f"an encoding is {NBYTES} bytes, got {len(blob)}")
    return np.frombuffer(blob, dtype=_DTYPE).astype(np.float32)


def stack(blobs: Iterable[bytes]) -> np.ndarray:
    """Many 512-byte encodings as one C-contiguous float32 (N, 128) array (fast: one join)."""
    blobs = list(blobs)
    for i, b in enumerate(blobs):
        if len(b) != NBYTES:
            raise ValueError(f"encoding {i} is {len(b)} bytes, expected {NBYTES}")
    if not blobs:
        return np.zeros((0, DIM), np.float32)
    arr = np.frombuffer(b"".join(blobs), dtype=_DTYPE).reshape(len(blobs), DIM)
    return arr.astype(np.float32)  # a writable native-order copy


def matrix_to_bytes(matrix: np.ndarray) -> bytes:
    """(N, 128) array as N*512 bytes (for serialising prototypes)."""
    return as_matrix(matrix).astype(_DTYPE).tobytes()


def matrix_from_bytes(blob: bytes) -> np.ndarray:
    """N*512 bytes as a float32 (N, 128) array."""
    if len(blob) % NBYTES:
        raise ValueError(f"length {len(blob)} is not a multiple of {NBYTES}")
    return np.frombuffer(blob, dtype=_DTYPE).reshape(-1, DIM).astype(np.float32)


def as_matrix(x: np.ndarray | None) -> np.ndarray:
    """Validate and convert to a float32 (N, 128) array; None or empty gives (0, 128)."""
    if x is None:
        return np.zeros((0, DIM), np.float32)
    arr = np.asarray(x, dtype=np.float32)
    if arr.size == 0:
        return np.zeros((0, DIM), np.float32)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != DIM:
        raise ValueError(f"encodings must have shape (N, {DIM}), got {arr.shape}")
    # one float64 sum is NaN/inf iff some element is (no float32 overflows it), and allocates
    # nothing, unlike isfinite() over a million rows
    if not np.isfinite(arr.sum(dtype=np.float64)):
        raise ValueError("encodings contain NaN or infinity")
    return np.ascontiguousarray(arr)
