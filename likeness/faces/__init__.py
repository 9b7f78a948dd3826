"""Faces: safe image decoding, dlib HOG detection + 128-D encoding, and the process pool.

Import map (only the pool's children import dlib, numpy-heavy decoding runs there too):
- ``types``   Box (fractions of the decoded image), DetectedFace, DetectResult, ImageError,
              DetectTask / EncodeBoxTask / TestTask, float32 encoding helpers. Parent-safe.
- ``pool``    FacePool: persistent children, one Pipe each, crash/hang charged to the task.
- ``limits``  byte and pixel caps; ``widths``: the thumbnail width to fetch (1280, measured).
- ``decode``  bytes -> RGB pixels (child side; Pillow + numpy).
- ``detect``  FaceEngine: dlib models (child side only).
- ``child``   the child process's main loop and rlimits.
"""
