"""Classifier and active-learning maths: pure numpy, no database.

Modules: encodings (bytes <-> float32 arrays), distances (chunked nearest-neighbour kernels),
classifier (train/Model), calibration (threshold, precision and recall estimates),
constraints (one target per image), queue (what to ask next), run (one model run over a
project), baseline (WikiVisage's centroid, for the benchmark and tests).

How the database side uses it (worker, after new decisions or when a project starts):

1. Load the project's active, encoded faces in one pass: ids, image ids, encodings
   (``encodings.stack(blobs)``), labels (``run.labels_from_strings(faces.label)``), and a
   seed mask (``faces.source == 'seed'``). If the project opted in to shared knowledge, also
   load the encodings of faces labelled yes in other opted-in projects on the same Q-id
   (``prior``; they are never written into this project).
2. ``result = run.run(encodings, image_ids, labels, prior, seed_mask=..., random_asked=...)``.
   ``random_asked`` marks answered faces that the queue had placed as random picks (store
   ``result.random_pick`` with the face, e.g. a boolean column, to know this later).
3. Write back per face: ``score = result.stored_scores`` (NULL while ``result.model`` is
   None), ``priority = result.priority`` (a rank, lower first; NaN -> NULL for answered
   faces; ``run.nullable()`` converts), ``model_run_id``. "Unlabelled and score >= threshold"
   then selects exactly the proposals (the one-per-image rule is folded into stored_scores).
4. When ``result.model`` is not None, insert a model_runs row: n_positive, n_negative,
   n_shared, threshold, precision_estimate, recall_estimate (model attributes), params =
   ``model.to_bytes()`` (contains encodings: biometric data), duration_ms, last_decision_id.
   ``model.meta()`` is the JSON-safe summary (weights, calibration, audit) for the owner.
5. Retrain after each batch of answers (the queue head is 200 faces deep; every 5-20 answers
   or a few seconds of quiet is plenty); provisional seeds are UNLABELLED until a human answers.
"""
