"""Batch pipeline of the credit-risk scorer: synthetic population, initial model, ONNX export.

Run modules from the repository root, e.g. ``python -m pipeline.train_initial --out models/credit-default-classifier/1``.
"""
