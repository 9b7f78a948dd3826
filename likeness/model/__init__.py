"""Classifier and active-learning maths: pure numpy, no database.

Modules: encodings (bytes <-> float32 arrays), distances, classifier (train/Model), calibration
(threshold, precision estimate), constraints (one target per image), queue (what to ask next),
run (one model run over a project), baseline (WikiVisage's centroid, for comparison).
"""
