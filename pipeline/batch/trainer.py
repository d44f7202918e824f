"""The candidate classifier's training functions; they live in :mod:`pipeline.model` (one place that trains).

Kept as a name for the pipeline's callers until the package regroup moves them.

Examples
--------
>>> xgboost_params({"max_depth": 3})["max_depth"]
3
"""

from __future__ import annotations

from pipeline.model import constraints_for, fit, load, save, xgboost_params

__all__ = ["constraints_for", "fit", "load", "save", "xgboost_params"]
