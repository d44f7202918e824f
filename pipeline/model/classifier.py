"""The credit-default classifier: XGBoost with monotone constraints; the one place it is fitted, saved and loaded.

``base_score`` is pinned to 0.5 (a zero base margin). XGBoost >= 2 otherwise
estimates it from the labels; the ONNX converter then carries it as the tree
ensemble's ``base_values``, which onnxruntime adds *after* summing the trees while
XGBoost starts its float32 sum *from* it. The different summation order costs
up to ~1e-6 in probability with a few hundred trees (measured 1.0e-6 with 600);
with a zero base margin both sum the same float32 sequence and agree to about
one float32 ulp of the sigmoid. The intercept is learned by the trees instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from xgboost import XGBClassifier

from pipeline.fairness.elderly import merged_constraints
from pipeline.population.synthetic import load_spec

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


def xgboost_params(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return :data:`XGB_PARAMS` with ``overrides`` applied (``base_score`` stays 0.5).

    Examples
    --------
    >>> xgboost_params({"max_depth": 3})["max_depth"], xgboost_params({})["base_score"]
    (3, 0.5)
    """
    params = {**XGB_PARAMS, **dict(overrides)}
    if params["base_score"] != 0.5:
        raise ValueError("base_score must stay 0.5 (see pipeline/model/classifier.py)")
    return params


def constraints_for(names: list[str], monotone: bool) -> tuple[int, ...]:
    """Return the training constraints in ``names`` order: the population spec's, and always the fair-lending ones.

    ``monotone=False`` drops the population's constraints (``train.monotone``) but never those of
    ``fair_lending.model_monotone`` (non-increasing in age: Regulation B's elderly-age rule, docs/fairness.md).

    Examples
    --------
    >>> from pipeline.population.features import feature_names
    >>> on = dict(zip(feature_names(), constraints_for(feature_names(), True)))
    >>> off = dict(zip(feature_names(), constraints_for(feature_names(), False)))
    >>> on["num_late_payments"], on["age"], off["num_late_payments"], off["age"]
    (1, -1, 0, -1)
    """
    spec = load_spec()
    return monotone_constraints(merged_constraints(spec["default_model"]["monotone"] if monotone else {}, spec), names)


def time_split(submitted_at: np.ndarray, holdout_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Split row indices by event time: earliest rows train, latest rows are the holdout.

    Parameters
    ----------
    submitted_at : numpy.ndarray
        Event times of the rows.
    holdout_fraction : float
        Share of rows, in (0, 1), that go to the holdout.

    Returns
    -------
    tuple of numpy.ndarray
        ``(train_idx, holdout_idx)``; every training time is <= every holdout time.

    Examples
    --------
    >>> [a.tolist() for a in time_split(np.array([5, 1, 4, 2, 3]), 0.4)]
    [[1, 3, 4], [2, 0]]
    """
    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
    order = np.argsort(submitted_at, kind="stable")
    n_train = int(round(len(order) * (1.0 - holdout_fraction)))
    return order[:n_train], order[n_train:]


def fit(X: np.ndarray, y: np.ndarray, seed: int, constraints: tuple[int, ...], params: Mapping[str, Any] = XGB_PARAMS) -> XGBClassifier:
    """Fit the classifier on float32 features; deterministic for the same inputs.

    The one training function: the initial model and the pipeline's train stage both call it.

    Parameters
    ----------
    X : numpy.ndarray
        ``[n, n_features]`` training features (cast to float32, as at inference).
    y : numpy.ndarray
        0/1 labels.
    seed : int
        XGBoost ``random_state`` (row subsampling).
    constraints : tuple of int
        Monotone constraints in feature order.
    params : mapping, optional
        Full XGBoost parameters (:func:`xgboost_params`); :data:`XGB_PARAMS` by default.

    Returns
    -------
    xgboost.XGBClassifier
        The fitted model; deterministic for a given ``(X, y, seed, params)``.
    """
    model = XGBClassifier(**dict(params), random_state=seed, monotone_constraints=constraints)
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


def split_thresholds(model: XGBClassifier, feature_index: int) -> list[float]:
    """Return the sorted unique split thresholds of one feature over the booster's trees.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]] * 10); y = np.array([0, 0, 1, 1] * 10)
    >>> split_thresholds(fit(X, y, 0, (0,), {"n_estimators": 2, "max_depth": 1}), 0)
    [2.0]
    """
    learner = json.loads(model.get_booster().save_raw(raw_format="json"))["learner"]
    found: set[float] = set()
    for tree in learner["gradient_booster"]["model"]["trees"]:
        for left, feature, condition in zip(tree["left_children"], tree["split_indices"], tree["split_conditions"]):
            if left != -1 and int(feature) == feature_index:
                found.add(float(condition))
    return sorted(found)


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
