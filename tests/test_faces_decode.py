"""Decoding untrusted bytes: every image mode becomes RGB, every bad input a clear error kind.

These run the decoder in the test process (it needs Pillow and numpy, not dlib); the pool tests
run the same code in real children.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from likeness.faces.decode import DecodeError, decode_image, decode_to_array, scale_down
from likeness.faces.limits import DecodeLimits
from tests.fixtures.faces import HTML_ERROR_PAGE, faces_path, huge_png, save

PORTRAIT = "people/bill_gates/1.jpg"  # 512x767, one face


@pytest.fixture(scope="module")
def photo(faces_dir: object) -> Image.Image:
    return Image.open(faces_path(PORTRAIT)).convert("RGB")


def _mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).mean())


def test_plain_jpeg_decodes_to_rgb(photo: Image.Image) -> None:
    img = decode_image(faces_path(PORTRAIT).read_bytes())
    assert img.mode == "RGB" and img.size == (512, 767)
    arr = decode_to_array(faces_path(PORTRAIT).read_bytes())
    assert arr.dtype == np.uint8 and arr.shape == (767, 512, 3) and arr.flags.c_contiguous


def test_cmyk_jpeg_converts_to_matching_rgb(photo: Image.Image) -> None:
    img = decode_image(save(photo.convert("CMYK"), "JPEG", quality=95))
    assert img.mode == "RGB"
    assert _mean_abs_diff(img, photo) < 8


def test_greyscale_becomes_three_equal_channels(photo: Image.Image) -> None:
    arr = np.asarray(decode_image(save(photo.convert("L"), "PNG")))
    assert arr.shape[2] == 3
    assert (arr[..., 0] == arr[..., 2]).all()


def test_sixteen_bit_greyscale_is_scaled_not_clipped(photo: Image.Image) -> None:
    grey = np.asarray(photo.convert("L"), dtype=np.uint16)
    data = save(Image.fromarray(grey * 257), "PNG")  # full 16-bit range
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    arr = np.asarray(decode_image(data))
    # clipping would turn nearly every pixel white; scaling keeps the picture
    assert abs(float(arr[..., 0].mean()) - float(grey.mean())) < 1.0


def test_float_greyscale_is_scaled(photo: Image.Image) -> None:
    grey = np.asarray(photo.convert("L"), dtype=np.float32) / 255.0
    arr = np.asarray(decode_image(save(Image.fromarray(grey, "F"), "TIFF")))
    assert abs(float(arr.mean()) - float(grey.mean() * 255)) < 1.0


def test_alpha_is_composited_on_white(photo: Image.Image) -> None:
    rgba = photo.convert("RGBA")
    alpha = np.full((photo.height, photo.width), 255, np.uint8)
    alpha[:, :40] = 0  # a transparent strip on the left
    rgba.putalpha(Image.fromarray(alpha))
    for data in (save(rgba, "PNG"), save(rgba.convert("LA"), "PNG"), save(rgba, "WEBP")):
        arr = np.asarray(decode_image(data))
        assert (arr[:, :40] >= 250).all(), "transparent pixels must become white"
        assert arr[:, 200:300].mean() < 200


def test_palette_with_transparency(photo: Image.Image) -> None:
    pal = photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    data = save(pal, "PNG", transparency=0)
    arr = np.asarray(decode_image(data))
    assert arr.shape == (767, 512, 3)


def test_animated_gif_webp_png_give_the_first_frame(photo: Image.Image) -> None:
    frames = [photo, Image.new("RGB", photo.size), Image.new("RGB", photo.size, (20, 20, 20))]
    for fmt in ("GIF", "WEBP", "PNG"):
        data = save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
        assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3, fmt
        arr = np.asarray(decode_image(data))
        assert arr.mean() > 60, f"{fmt}: got a black frame, not the first one"


@pytest.mark.parametrize(
    ("orientation", "stored"),
    [
        (3, Image.Transpose.ROTATE_180),
        (6, Image.Transpose.ROTATE_90),  # shown after turning 90 degrees clockwise
        (8, Image.Transpose.ROTATE_270),
        (2, Image.Transpose.FLIP_LEFT_RIGHT),
    ],
)
def test_exif_orientation_is_applied(
    photo: Image.Image, orientation: int, stored: Image.Transpose
) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = save(photo.transpose(stored), "JPEG", quality=95, exif=exif.tobytes())
    img = decode_image(data)
    assert img.size == photo.size
    assert _mean_abs_diff(img, photo) < 6


def test_scale_down_keeps_aspect_and_never_enlarges(photo: Image.Image) -> None:
    assert scale_down(photo, 256).size == (256, 384)
    assert scale_down(photo, 4000).size == photo.size
    small = scale_down(photo, None, max_pixels=10_000)
    assert small.width * small.height <= 10_100


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "TIFF"])
def test_truncated_files_are_refused_not_half_decoded(photo: Image.Image, fmt: str) -> None:
    data = save(photo, fmt)
    with pytest.raises(DecodeError) as info:
        decode_image(data[: len(data) * 2 // 3])
    assert info.value.kind == "truncated"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "empty"),
        (HTML_ERROR_PAGE, "html"),
        (b'{"error": {"code": "badtitle"}}', "html"),
        (b"Not Found\n", "html"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "unsupported"),
        (np.random.default_rng(7).bytes(4096), "not_an_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "corrupt"),
    ],
    ids=["empty", "html", "json", "text", "svg", "random", "broken-png"],
)
def test_bad_bytes_get_a_clear_kind(data: bytes, kind: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_image(data)
    assert info.value.kind == kind
    assert info.value.to_result().kind == kind and info.value.message


def test_huge_dimensions_are_refused_before_decoding() -> None:
    data = huge_png()
    assert len(data) < 200_000  # a small file claiming 900 million pixels
    with pytest.raises(DecodeError) as info:
        decode_image(data)
    assert info.value.kind == "too_large"


def test_configured_pixel_and_byte_limits(photo: Image.Image) -> None:
    data = save(photo, "JPEG")
    with pytest.raises(DecodeError) as info:
        decode_image(data, DecodeLimits(max_pixels=100_000))
    assert info.value.kind == "too_large" and "pixels" in info.value.message
    with pytest.raises(DecodeError) as info:
        decode_image(data, DecodeLimits(max_bytes=1000))
    assert info.value.kind == "too_large" and "bytes" in info.value.message


def test_utf8_text_cut_mid_character_is_still_text() -> None:
    unit = "Fehler – Datei nicht gefunden ––––".encode()
    for shift in (18, 19, 20):  # the 512-byte sample ends on each byte of a 3-byte "–"
        page = b"x" * shift + unit * 40
        with pytest.raises(DecodeError) as info:
            decode_image(page)
        assert info.value.kind == "html", shift
