"""Boxes as fractions, IIIF regions, float32 encodings and the JSON wire format."""

from __future__ import annotations

import math

import numpy as np
import pytest

from likeness.faces.types import (
    ENCODING_BYTES,
    Box,
    BoxError,
    DetectedFace,
    DetectResult,
    ImageError,
    array_to_encoding,
    encoding_to_array,
    pack_encoding,
    result_from_wire,
    result_to_wire,
)


@pytest.mark.parametrize(
    "values",
    [
        (-0.1, 0, 0.5, 0.5),
        (0, 0, 0, 0.5),
        (0, 0, 0.5, -0.1),
        (0.6, 0, 0.5, 0.5),
        (0, 0.7, 0.5, 0.5),
        (math.nan, 0, 0.5, 0.5),
        (0, 0, math.inf, 0.5),
    ],
)
def test_box_rejects_regions_outside_the_image(values: tuple[float, ...]) -> None:
    with pytest.raises(BoxError):
        Box(*values)


def test_box_from_pixels_clamps_and_round_trips() -> None:
    box = Box.from_pixels(-10, 20, 110, 70, image_width=100, image_height=200)
    assert box == Box(0.0, 0.1, 1.0, 0.25)
    assert box.to_pixels(100, 200) == (0, 20, 100, 70)
    # the same fractions on a thumbnail half the size give the same region, halved
    assert box.to_pixels(50, 100) == (0, 10, 50, 35)


def test_box_from_pixels_without_area_is_refused() -> None:
    with pytest.raises(BoxError):
        Box.from_pixels(120, 0, 150, 10, image_width=100, image_height=100)


def test_tiny_box_never_collapses_to_zero_pixels() -> None:
    left, top, right, bottom = Box(0.999, 0.5, 0.0001, 0.0001).to_pixels(100, 100)
    assert right - left >= 1 and bottom - top >= 1
    assert right <= 100 and bottom <= 100


def test_iiif_region_is_percent_rounded_and_clamped() -> None:
    assert Box(0.25, 0.1, 0.5, 0.125).to_iiif() == "pct:25,10,50,12.5"
    assert Box(1 / 3, 0, 2 / 3, 1).to_iiif() == "pct:33.3,0,66.7,100"
    assert Box(1 / 3, 0, 2 / 3, 1).to_iiif(decimals=2) == "pct:33.33,0,66.67,100"
    assert Box(0.12345, 0.5, 0.33333, 0.25).to_iiif() == "pct:12.3,50,33.3,25"
    assert Box(0.7, 0.0, 0.30000001, 1.0000001).to_iiif() == "pct:70,0,30,100"
    # A tiny box in the corner must not round to x=100 (x + w would leave the image).
    assert Box(0.9999, 0.9999, 0.0001, 0.0001).to_iiif() == "pct:99.9,99.9,0.1,0.1"
    # rounding up must not push the region past the right edge
    region = Box(0.33335, 0.0, 0.66665, 0.5).to_iiif()
    x, _, w, _ = (float(v) for v in region[4:].split(","))
    assert x + w <= 100


def test_iiif_region_parses_back_and_refuses_what_is_not_inside_the_image() -> None:
    assert Box.from_iiif("pct:25,10,50,12.5") == Box(0.25, 0.1, 0.5, 0.125)
    box = Box.from_iiif("pct:80,90,20,10")
    assert math.isclose(box.right, 1.0) and math.isclose(box.bottom, 1.0)
    for bad in ("", "full", "10,10,20,20", "pct:10,10,0,5", "pct:100,0,5,5", "pct:a,b,c,d",
                "pct:80,90,40,20", "pct:1,2,3"):
        with pytest.raises(BoxError):
            Box.from_iiif(bad)


def test_encoding_is_512_bytes_of_little_endian_float32() -> None:
    values = np.linspace(-0.3, 0.3, 128)
    packed = array_to_encoding(values)
    assert len(packed) == ENCODING_BYTES
    assert packed == pack_encoding(values)
    assert packed[:4] == np.float32(-0.3).astype("<f4").tobytes()
    restored = encoding_to_array(packed)
    assert restored.dtype == np.float32
    assert np.allclose(restored, values, atol=1e-7)
    with pytest.raises(ValueError):
        array_to_encoding(np.zeros(127))
    with pytest.raises(ValueError):
        DetectedFace(Box(0, 0, 1, 1), b"\x00" * 511)


def test_results_survive_the_json_wire() -> None:
    face = DetectedFace(Box(0.1, 0.2, 0.3, 0.4), array_to_encoding(np.arange(128) / 128), 1.25)
    result = DetectResult(640, 480, (face,), 0.5)
    assert result_from_wire(result_to_wire(result)) == result
    error = ImageError("truncated", "image file is truncated")
    assert result_from_wire(result_to_wire(error)) == error
    assert error.retryable and not ImageError("not_an_image", "x").retryable
    with pytest.raises(ValueError):
        ImageError("no_such_kind", "x")


def test_a_box_at_the_edge_survives_a_float32_column() -> None:
    """MariaDB FLOAT is single precision: an edge box read back must still be a valid Box."""
    box = Box.from_pixels(999, 300, 1280, 750, image_width=1280, image_height=750)
    stored = np.array(box.as_tuple(), dtype=np.float32).astype(float)
    assert stored[0] + stored[2] > 1  # float32 rounding pushed the edge past 1
    restored = Box(*stored)
    assert restored.to_pixels(1280, 750) == (999, 300, 1280, 750)
    assert restored.to_iiif(decimals=2) == "pct:78.05,40,21.95,60"


def test_error_messages_are_cut_to_fit_the_database_column() -> None:
    error = ImageError("internal", "x" * 5000)
    assert len(error.message) <= 500 and error.message.endswith("...")


def test_iou() -> None:
    a = Box(0.0, 0.0, 0.5, 0.5)
    assert a.iou(a) == 1.0
    assert a.iou(Box(0.5, 0.5, 0.5, 0.5)) == 0.0
    assert math.isclose(a.iou(Box(0.25, 0.0, 0.5, 0.5)), 1 / 3)
