"""dlib HOG face detection and 128-D encoding. Imported only in the pool's child processes.

We call dlib directly with face_recognition_models' files, exactly what
``face_recognition.face_encodings(model="small", num_jitters=1)`` does, without loading the
unused 100 MB 68-point and CNN models, and without importing pkg_resources.

Detection and a person's box go through the same ``encode_box``: a detected face's box is first
turned into fractions and back, so a box drawn on any thumbnail of the image is encoded exactly
as a detected one would be (the region always comes from this decoded image).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import dlib
import numpy as np

from likeness.faces.types import (
    DEFAULT_UPSAMPLE,
    MAX_UPSAMPLE,
    Box,
    DetectedFace,
    array_to_encoding,
)

MIN_BOX_PIXELS = 10  # a region narrower than this has no usable face in it
_SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
_ENCODER_MODEL = "dlib_face_recognition_resnet_model_v1.dat"


class BoxTooSmall(ValueError):
    """The box covers too few pixels of this image to encode a face."""


def models_dir() -> Path:
    """Where face_recognition_models keeps its .dat files (found without importing it)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face_recognition_models is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class FaceEngine:
    """The three dlib models, loaded once per child process."""

    def __init__(self, model_dir: Path | None = None) -> None:
        model_dir = model_dir or models_dir()
        self.detector = dlib.get_frontal_face_detector()
        self.shape_predictor = dlib.shape_predictor(str(model_dir / _SHAPE_MODEL))
        self.encoder = dlib.face_recognition_model_v1(str(model_dir / _ENCODER_MODEL))

    def detect(self, image: np.ndarray, upsample: int = DEFAULT_UPSAMPLE) -> list[DetectedFace]:
        """Every face HOG finds in an HxWx3 uint8 image, boxes as fractions, left to right."""
        if not 0 <= upsample <= MAX_UPSAMPLE:
            raise ValueError(f"upsample must be 0..{MAX_UPSAMPLE}, got {upsample}")
        height, width = image.shape[:2]
        rects, scores, _ = self.detector.run(image, upsample, 0.0)
        faces = []
        for rect, score in zip(rects, scores, strict=True):
            # dlib's right/bottom are inclusive; Box.from_pixels wants exclusive edges.
            box = Box.from_pixels(
                rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1, width, height
            )
            faces.append(DetectedFace(box, self.encode_box(image, box).encoding, float(score)))
        faces.sort(key=lambda face: (face.box.left, face.box.top))
        return faces

    def encode_box(self, image: np.ndarray, box: Box) -> DetectedFace:
        """Encode the region ``box`` of this image (the only way any face is encoded)."""
        height, width = image.shape[:2]
        left, top, right, bottom = box.to_pixels(width, height)
        if right - left < MIN_BOX_PIXELS or bottom - top < MIN_BOX_PIXELS:
            raise BoxTooSmall(
                f"box is {right - left}x{bottom - top} px in a {width}x{height} image; "
                f"at least {MIN_BOX_PIXELS}x{MIN_BOX_PIXELS} px is needed"
            )
        rect = dlib.rectangle(left, top, right - 1, bottom - 1)
        shape = self.shape_predictor(image, rect)
        descriptor = self.encoder.compute_face_descriptor(image, shape, 1)
        return DetectedFace(box, array_to_encoding(np.asarray(descriptor)))
