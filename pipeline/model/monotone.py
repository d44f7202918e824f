"""Monotonicity of an exported model, checked on the model itself (not assumed from training).

For each constrained feature, every sampled row is scored at a grid of values of that feature
(its training quantiles, plus one value beyond the maximum), all else fixed; the scores along the
grid must never move against the constraint's sign. Float32 tree sums and the sigmoid are
monotone operations, so an exported model that honours the constraints shows zero violations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np


class Violation(NamedTuple):
    """The worst move against a feature's constraint: ``sign * (p[k+1] - p[k]) < 0``."""

    feature: str
    sign: int
    worst: float
    rows: int


def grid(values: np.ndarray, points: int) -> np.ndarray:
    """Return the sorted unique quantiles of ``values`` plus the maximum + their span (beyond the range).

    Examples
    --------
    >>> grid(np.array([0.0, 1.0, 1.0, 2.0]), 3).tolist()
    [0.0, 1.0, 2.0, 4.0]
    """
    qs = np.unique(np.quantile(values, np.linspace(0.0, 1.0, points)))
    span = qs[-1] - qs[0]
    return np.append(qs, qs[-1] + (span if span > 0 else 1.0))


def violations(score: Callable[[np.ndarray], np.ndarray], X_rows: np.ndarray, X_reference: np.ndarray, names: list[str], constraints: Mapping[str, int], points: int = 16) -> list[Violation]:
    """Return the constrained features whose scores move against their sign anywhere on the grid.

    Parameters
    ----------
    score : callable
        ``[n, n_features] -> [n]`` probabilities (e.g. onnxruntime on the exported model).
    X_rows : numpy.ndarray
        Rows to vary.
    X_reference : numpy.ndarray
        Rows whose per-feature quantiles make the grid (the training rows).
    names : list of str
        Feature names, in column order.
    constraints : mapping of str to int
        Feature name to -1, 0 or +1.
    points : int, optional
        Quantiles per grid.

    Returns
    -------
    list of Violation
        Empty when the model is monotone as constrained on every sampled row.

    Examples
    --------
    >>> X = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 0.0]])
    >>> violations(lambda Z: Z[:, 0] - Z[:, 1], X, X, ["a", "b"], {"a": 1, "b": 1}, 4)[0].feature
    'b'
    """
    found = []
    for j, name in enumerate(names):
        sign = int(constraints.get(name, 0))
        if sign == 0:
            continue
        values = grid(X_reference[:, j], points)
        stacked = np.repeat(X_rows[None, :, :], len(values), axis=0)
        stacked[:, :, j] = values[:, None]
        p = np.asarray(score(stacked.reshape(-1, X_rows.shape[1]))).reshape(len(values), len(X_rows))
        moves = sign * np.diff(p, axis=0)
        if (moves < 0).any():
            found.append(Violation(name, sign, float(moves.min()), int((moves < 0).any(axis=0).sum())))
    return found
