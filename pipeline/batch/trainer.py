"""Fitting, saving and loading the candidate classifier (XGBoost, fixed seed, monotone constraints)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from xgboost import XGBClassifier

from pipeline.model import XGB_PARAMS, monotone_constraints
from pipeline.population import load_spec


def xgboost_params(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return :data:`pipeline.model.XGB_PARAMS` with ``overrides`` applied (``base_score`` stays 0.5).

    Examples
    --------
    >>> xgboost_params({"max_depth": 3})["max_depth"], xgboost_params({})["base_score"]
    (3, 0.5)
    """
    params = {**XGB_PARAMS, **dict(overrides)}
    if params["base_score"] != 0.5:
        raise ValueError("base_score must stay 0.5 (see pipeline/model.py)")
    return params


def constraints_for(names: list[str], monotone: bool) -> tuple[int, ...]:
    """Return the population spec's monotone constraints in ``names`` order, or all zeros.

    Examples
    --------
    >>> from pipeline.features import feature_names
    >>> dict(zip(feature_names(), constraints_for(feature_names(), True)))["num_late_payments"]
    1
    """
    if not monotone:
        return (0,) * len(names)
    return monotone_constraints(load_spec()["default_model"]["monotone"], names)


def fit(X: np.ndarray, y: np.ndarray, seed: int, constraints: tuple[int, ...], params: Mapping[str, Any]) -> XGBClassifier:
    """Fit the classifier on float32 features; deterministic for the same inputs.

    Parameters
    ----------
    X : numpy.ndarray
        ``[n, n_features]`` training features.
    y : numpy.ndarray
        0/1 labels.
    seed : int
        XGBoost ``random_state``.
    constraints : tuple of int
        Monotone constraints in feature order.
    params : mapping
        Full XGBoost parameters (:func:`xgboost_params`).

    Returns
    -------
    xgboost.XGBClassifier
    """
    model = XGBClassifier(**dict(params), random_state=seed, monotone_constraints=constraints)
    model.fit(np.asarray(X, dtype=np.float32), np.asarray(y))
    return model


def save(model: XGBClassifier, path: Path) -> None:
    """Save the booster as UBJSON (binary, exact; identical bytes for identical models)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    model.save_model(tmp)
    tmp.replace(path)


def load(path: Path) -> XGBClassifier:
    """Load a classifier saved by :func:`save` (predictions identical to the saved one)."""
    model = XGBClassifier()
    model.load_model(path)
    return model
