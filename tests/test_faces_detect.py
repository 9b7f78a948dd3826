"""Real dlib in real pool children on real photos: counts, encodings, boxes, odd image files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from likeness.faces.pool import FacePool
from likeness.faces.types import Box, DetectResult, DetectTask, EncodeBoxTask, ImageError
from tests.fixtures.faces import (
    HTML_ERROR_PAGE,
    detected_counts,
    faces_path,
    huge_png,
    photo_bytes,
    save,
)

PEOPLE = [
    "people/bill_gates/1.jpg",
    "people/joseph_biden/1.jpg",
    "people/tom_cruise/1.jpg",
    "people/colin_powell/3.jpg",
    "extra_people/barack_obama/4.jpg",
]
PORTRAIT = "people/bill_gates/1.jpg"


def _detect(pool: FacePool, data: bytes, **kwargs: object) -> DetectResult:
    result = pool.run(DetectTask("one", data, **kwargs))  # type: ignore[arg-type]
    assert isinstance(result, DetectResult), result
    return result


def _distance(a: bytes, b: bytes) -> float:
    from likeness.faces.types import encoding_to_array

    return float(np.linalg.norm(encoding_to_array(a) - encoding_to_array(b)))


def test_people_and_a_group_give_the_known_counts(face_pool: FacePool) -> None:
    expected = detected_counts()
    paths = [*PEOPLE, "groups/commons_group_photo_nwp_april2021.jpg", "groups/dlib_2008_002079.jpg"]
    tasks = [DetectTask(path, photo_bytes(path)) for path in paths]
    results = dict(face_pool.map_unordered(tasks))
    assert set(results) == set(paths)
    for path in paths:
        result = results[path]
        assert isinstance(result, DetectResult), (path, result)
        assert len(result.faces) == expected[path][0], path
        with Image.open(faces_path(path)) as img:
            assert (result.width, result.height) == img.size
        for face in result.faces:
            assert len(face.encoding) == 512 and face.score is not None
            assert face.box.left >= 0 and face.box.right <= 1 + 1e-9


def test_group_photo_at_500_px_loses_faces_as_measured(face_pool: FacePool) -> None:
    path = "groups/commons_group_photo_nwp_april2021.jpg"
    full, at_500 = detected_counts()[path]
    result = _detect(face_pool, photo_bytes(path), max_width=500)
    assert len(result.faces) == at_500 < full
    assert result.width == 1000  # sizes are of the image as decoded, boxes are fractions


def test_no_face_on_landscapes_buildings_and_animals(face_pool: FacePool) -> None:
    paths = [
        "noface/commons_cerkiew.jpg",
        "noface/dlib_dogs_collage.jpg",
        "noface/commons_munich_subway_station_westfriedhof.jpg",
    ]
    results = dict(face_pool.map_unordered(DetectTask(p, photo_bytes(p)) for p in paths))
    for path in paths:
        assert isinstance(results[path], DetectResult), results[path]
        assert results[path].faces == (), path


def test_same_person_is_closer_than_different_people(face_pool: FacePool) -> None:
    paths = [
        "people/george_w_bush/1.jpg",
        "people/george_w_bush/2.jpg",
        "people/colin_powell/1.jpg",
        "people/jennifer_lopez/1.jpg",
    ]
    results = dict(face_pool.map_unordered(DetectTask(p, photo_bytes(p)) for p in paths))
    enc = {p: results[p].faces[0].encoding for p in paths}
    same = _distance(enc[paths[0]], enc[paths[1]])
    assert same < 0.6
    assert same < _distance(enc[paths[0]], enc[paths[2]])
    assert same < _distance(enc[paths[0]], enc[paths[3]])


def test_encode_box_reproduces_the_detectors_encoding(face_pool: FacePool) -> None:
    data = photo_bytes("groups/fr_two_people_obama_biden.jpg")
    detected = _detect(face_pool, data)
    assert len(detected.faces) == 2
    for face in detected.faces:
        result = face_pool.run(EncodeBoxTask("box", data, face.box))
        assert isinstance(result, DetectResult), result
        assert result.faces[0].box == face.box
        assert _distance(result.faces[0].encoding, face.encoding) < 0.1


def test_a_box_drawn_on_a_thumbnail_encodes_the_same_face(face_pool: FacePool) -> None:
    """The WikiVisage bug: a box from one resolution applied to another. Fractions prevent it."""
    data = photo_bytes(PORTRAIT)
    full = _detect(face_pool, data).faces[0]
    img = Image.open(io.BytesIO(data))
    thumb = save(img.resize((256, 384), Image.Resampling.LANCZOS), "JPEG", quality=92)
    small = _detect(face_pool, thumb).faces[0]
    assert small.box.iou(full.box) > 0.6
    # the box found on the thumbnail, encoded on the full-size image, is the same face
    on_full = face_pool.run(EncodeBoxTask("drawn", data, small.box))
    assert isinstance(on_full, DetectResult)
    assert _distance(on_full.faces[0].encoding, full.encoding) < 0.25
    # whereas thumbnail pixels read as full-size pixels encode some other region
    left, top, right, bottom = small.box.to_pixels(256, 384)
    wrong = Box.from_pixels(left, top, right, bottom, 512, 767)
    misplaced = face_pool.run(EncodeBoxTask("wrong", data, wrong))
    assert _distance(misplaced.faces[0].encoding, full.encoding) > 0.4


def test_exif_orientation_is_applied_before_detection(face_pool: FacePool) -> None:
    data = photo_bytes(PORTRAIT)
    upright = _detect(face_pool, data)
    img = Image.open(io.BytesIO(data))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned left; shown after turning 90 degrees clockwise
    stored = save(img.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95, exif=exif.tobytes())
    result = _detect(face_pool, stored)
    assert (result.width, result.height) == (upright.width, upright.height) == (512, 767)
    assert len(result.faces) == 1
    assert result.faces[0].box.iou(upright.faces[0].box) > 0.8
    assert _distance(result.faces[0].encoding, upright.faces[0].encoding) < 0.2


def _variants(photo: Image.Image) -> dict[str, bytes]:
    grey16 = Image.fromarray(np.asarray(photo.convert("L"), dtype=np.uint16) * 257)
    rgba = photo.convert("RGBA")
    alpha = np.full((photo.height, photo.width), 255, np.uint8)
    alpha[:, :20] = 0
    rgba.putalpha(Image.fromarray(alpha))
    frames = [Image.new("RGB", photo.size, (40, 40, 40)), Image.new("RGB", photo.size)]
    return {
        "cmyk": save(photo.convert("CMYK"), "JPEG", quality=95),
        "grey": save(photo.convert("L"), "JPEG", quality=95),
        "grey16": save(grey16, "PNG"),
        "rgba": save(rgba, "PNG"),
        "palette": save(photo.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
        "gif": save(photo, "GIF", save_all=True, append_images=frames, duration=80, loop=0),
        "webp": save(photo, "WEBP", quality=90),
        "apng": save(photo, "PNG", save_all=True, append_images=frames, duration=80),
    }


def test_every_image_mode_is_decoded_and_detected(face_pool: FacePool) -> None:
    photo = Image.open(faces_path(PORTRAIT)).convert("RGB")
    variants = _variants(photo)
    results = dict(face_pool.map_unordered(DetectTask(k, v) for k, v in variants.items()))
    reference = _detect(face_pool, photo_bytes(PORTRAIT)).faces[0]
    for name in variants:
        result = results[name]
        assert isinstance(result, DetectResult), (name, result)
        assert len(result.faces) == 1, name
        assert result.faces[0].box.iou(reference.box) > 0.7, name


def test_malformed_inputs_fail_one_by_one_while_the_rest_complete(face_pool: FacePool) -> None:
    good = photo_bytes(PORTRAIT)
    jpeg = photo_bytes("groups/fr_obama_and_biden.jpg")
    bad = {
        "truncated": (jpeg[: len(jpeg) // 2], "truncated"),
        "html": (HTML_ERROR_PAGE, "html"),
        "empty": (b"", "empty"),
        "huge": (huge_png(), "too_large"),
        "random": (np.random.default_rng(3).bytes(20_000), "not_an_image"),
    }
    tasks = [DetectTask("good-1", good)]
    tasks += [DetectTask(name, data) for name, (data, _) in bad.items()]
    tasks += [DetectTask("good-2", jpeg), EncodeBoxTask("good-box", good, Box(0.3, 0.2, 0.4, 0.3))]
    results = dict(face_pool.map_unordered(tasks))
    assert len(results) == len(tasks)
    for name, (_, kind) in bad.items():
        assert isinstance(results[name], ImageError), name
        assert results[name].kind == kind, (name, results[name])
    assert len(results["good-1"].faces) == 1
    assert len(results["good-2"].faces) == detected_counts()["groups/fr_obama_and_biden.jpg"][0]
    assert len(results["good-box"].faces) == 1


def test_a_box_too_small_to_encode_is_a_bad_box(face_pool: FacePool) -> None:
    result = face_pool.run(EncodeBoxTask("tiny", photo_bytes(PORTRAIT), Box(0.5, 0.5, 0.01, 0.01)))
    assert isinstance(result, ImageError) and result.kind == "bad_box"


@pytest.mark.parametrize("upsample", [0, 2])
def test_upsample_changes_what_small_faces_are_found(face_pool: FacePool, upsample: int) -> None:
    path = "groups/dlib_2008_004176.jpg"  # seven faces of 36 px, found with upsample 1
    result = _detect(face_pool, photo_bytes(path), upsample=upsample)
    if upsample == 0:
        assert len(result.faces) < 7
    else:
        assert len(result.faces) >= 7
