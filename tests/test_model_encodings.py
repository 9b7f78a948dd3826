"""Encodings as database bytes and as float32 arrays."""

import numpy as np
import pytest

from likeness.model import encodings


def test_bytes_round_trip_is_little_endian_512_bytes() -> None:
    x = np.random.default_rng(0).normal(0, 0.1, 128).astype(np.float32)
    blob = encodings.to_bytes(x)
    assert len(blob) == 512
    assert blob[:4] == x[:1].astype("<f4").tobytes()
    back = encodings.from_bytes(blob)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, x)


def test_stack_builds_one_matrix_in_order() -> None:
    rng = np.random.default_rng(1)
    rows = rng.normal(0, 0.1, (5, 128)).astype(np.float32)
    m = encodings.stack(encodings.to_bytes(r) for r in rows)
    assert m.shape == (5, 128) and m.dtype == np.float32 and m.flags.writeable
    np.testing.assert_array_equal(m, rows)
    assert encodings.stack([]).shape == (0, 128)
    np.testing.assert_array_equal(
        encodings.matrix_from_bytes(encodings.matrix_to_bytes(rows)), rows)


@pytest.mark.parametrize("blob", [b"", b"\0" * 511, b"\0" * 513])
def test_wrong_length_is_a_clear_error(blob: bytes) -> None:
    with pytest.raises(ValueError, match="512 bytes"):
        encodings.from_bytes(blob)
    with pytest.raises(ValueError, match="expected 512"):
        encodings.stack([b"\0" * 512, blob])


def test_non_finite_and_wrong_shape_are_rejected() -> None:
    bad = np.zeros(128, np.float32)
    bad[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        encodings.to_bytes(bad)
    with pytest.raises(ValueError, match="shape"):
        encodings.as_matrix(np.zeros((4, 127), np.float32))
    assert encodings.as_matrix(None).shape == (0, 128)
