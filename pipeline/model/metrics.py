"""Holdout metrics of a probabilistic binary classifier."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """Return the expected calibration error over equal-width probability bins.

    Parameters
    ----------
    y : numpy.ndarray
        0/1 outcomes.
    p : numpy.ndarray
        Predicted probabilities of outcome 1.
    n_bins : int, optional
        Number of equal-width bins over [0, 1]; bin ``i`` holds ``i/n <= p < (i+1)/n``
        (``p == 1`` falls in the last bin).

    Returns
    -------
    float
        ``sum_bins (n_bin / n) * |mean(p in bin) - mean(y in bin)|``.

    Examples
    --------
    >>> import numpy as np
    >>> expected_calibration_error(np.array([0, 1, 0, 1]), np.array([0.5, 0.5, 0.5, 0.5]))
    0.0
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            total += in_bin.mean() * abs(p[in_bin].mean() - y[in_bin].mean())
    return float(total)


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Return ROC-AUC, PR-AUC (average precision), Brier score and ECE.

    Parameters
    ----------
    y : numpy.ndarray
        0/1 outcomes (both classes present).
    p : numpy.ndarray
        Predicted probabilities of outcome 1.

    Returns
    -------
    dict of str to float
        Keys ``roc_auc``, ``pr_auc``, ``brier``, ``ece``.

    Examples
    --------
    >>> import numpy as np
    >>> classification_metrics(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))["roc_auc"]
    0.75
    """
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p),
    }
