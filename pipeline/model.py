"""The credit-default classifier: XGBoost with monotone constraints.

``base_score`` is pinned to 0.5 (a zero base margin). XGBoost >= 2 otherwise
estimates it from the labels; the ONNX converter then carries it as the tree
ensemble's ``base_values``, which onnxruntime adds *after* summing the trees while
XGBoost starts its float32 sum *from* it. The different summation order costs
up to ~1e-6 in probability with a few hundred trees (measured 1.0e-6 with 600);
with a zero base margin both sum the same float32 sequence and agree to about
one float32 ulp of the sigmoid. The intercept is learned by the trees instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from xgboost import XGBClassifier

XGB_PARAMS: dict[str, Any] = {
    "n_estimators": 300,
    "learning_rate": 0.05,
    "max_depth": 4,
    "min_child_weight": 5,
    "subsample": 0.8,
    "tree_method": "hist",
    "objective": "binary:logistic",
    "base_score": 0.5,
    "n_jobs": 2,
}
"""Hyper-parameters of the classifier (``random_state`` is the training seed)."""


def monotone_constraints(monotone: Mapping[str, int], names: list[str]) -> tuple[int, ...]:
    """Return XGBoost monotone constraints in feature order.

    Parameters
    ----------
    monotone : mapping of str to int
        Feature name to +1 (non-decreasing) or -1 (non-increasing), e.g. the
        population spec's ``default_model.monotone``; unlisted features are free.
    names : list of str
        Features in model input order.

    Returns
    -------
    tuple of int
        One of -1, 0, +1 per feature.

    Raises
    ------
    ValueError
        If ``monotone`` names an unknown feature or a sign other than +-1.

    Examples
    --------
    >>> monotone_constraints({"b": 1}, ["a", "b"])
    (0, 1)
    """
    unknown = set(monotone) - set(names)
    if unknown:
        raise ValueError(f"monotone constraints on unknown features {sorted(unknown)}")
    if any(sign not in (-1, 1) for sign in monotone.values()):
        raise ValueError(f"monotone signs must be -1 or +1: {dict(monotone)}")
    return tuple(int(monotone.get(name, 0)) for name in names)


def train_classifier(X: np.ndarray, y: np.ndarray, seed: int, constraints: tuple[int, ...]) -> XGBClassifier:
    """Fit the classifier on float32 features.

    Parameters
    ----------
    X : numpy.ndarray
        ``[n, n_features]`` training features (cast to float32, as at inference).
    y : numpy.ndarray
        0/1 labels.
    seed : int
        ``random_state`` of XGBoost (row subsampling).
    constraints : tuple of int
        Monotone constraints in feature order.

    Returns
    -------
    xgboost.XGBClassifier
        The fitted model; deterministic for a given ``(X, y, seed)``.
    """
    model = XGBClassifier(**XGB_PARAMS, random_state=seed, monotone_constraints=constraints)
    model.fit(np.asarray(X, dtype=np.float32), np.asarray(y))
    return model


def predict_default(model: XGBClassifier, X: np.ndarray) -> np.ndarray:
    """Return XGBoost's P(default), ``predict_proba[:, 1]``, on float32 features.

    Parameters
    ----------
    model : xgboost.XGBClassifier
        A fitted classifier.
    X : numpy.ndarray
        ``[n, n_features]`` features.

    Returns
    -------
    numpy.ndarray
        float64 probabilities (exactly the float32 values XGBoost computed).
    """
    return model.predict_proba(np.asarray(X, dtype=np.float32))[:, 1].astype(np.float64)
