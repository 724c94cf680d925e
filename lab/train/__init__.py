"""Training engine: background jobs with live metrics, runs on disk, evaluation and diagnostics.

Importing this package is cheap; TensorFlow is imported only when a job trains or a model loads.
"""
