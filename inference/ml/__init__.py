"""RadBot imaging models: segmentation, localisation, measurement, classification.

Pure Python + torch; never imports Django, so it runs in a worker, a notebook or a
benchmark alike. Public entry points live in :mod:`inference.ml.pipeline` (per-study
inference) and :mod:`inference.ml.bundle` (a trained model's networks, saved and loaded).
"""
