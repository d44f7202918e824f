"""Command-line stages of the batch pipeline: ``python -m pipeline.stages.<stage>``.

extract -> train -> gate -> export -> register -> promote; ``retrain`` runs them all.
"""
