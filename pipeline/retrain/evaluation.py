"""Holdout evaluation: the candidate's, the champion's and the oracle's scores on the same rows."""

from __future__ import annotations

import numpy as np

from pipeline.retrain.dataset import Dataset
from pipeline.model.metrics import classification_metrics
from pipeline.population.synthetic import as_columns, default_probability, load_spec


def oracle_probability(dataset: Dataset, idx: np.ndarray) -> tuple[np.ndarray, str]:
    """Return the true P(default) of rows ``idx`` and where it comes from.

    Generated rows carry it (``true_probability``); otherwise it is computed from the features
    with the population spec's default model - the true probability for data the simulator
    generated from the same spec (the macro shock changes feature distributions, not this model).

    Returns
    -------
    tuple of (numpy.ndarray, str)
        Probabilities and ``'recorded'`` or ``'population spec'``.
    """
    recorded = dataset.true_probability[idx]
    if np.isfinite(recorded).all():
        return recorded, "recorded"
    return default_probability(as_columns(dataset.X[idx], list(dataset.feature_names)), load_spec()), "population spec"


def metrics_with_oracle(y: np.ndarray, p: np.ndarray, oracle_p: np.ndarray) -> dict[str, float]:
    """Return holdout metrics plus ``oracle_roc_auc`` and ``default_rate`` (all floats).

    Examples
    --------
    >>> m = metrics_with_oracle(np.array([0, 1, 0, 1]), np.array([0.2, 0.7, 0.4, 0.3]), np.array([0.1, 0.9, 0.2, 0.8]))
    >>> m["roc_auc"], m["oracle_roc_auc"], m["default_rate"]
    (0.75, 1.0, 0.5)
    """
    metrics = classification_metrics(y, p)
    metrics["oracle_roc_auc"] = classification_metrics(y, oracle_p)["roc_auc"]
    metrics["default_rate"] = float(np.mean(y))
    return metrics
