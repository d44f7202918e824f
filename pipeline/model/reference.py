"""Reference distributions for drift monitoring: decile bins and a sample.

Binning: ``edges`` are the sorted, de-duplicated 10%..90% quantiles of the training
values (``inverted_cdf`` quantiles, so every edge is a value seen in training). The bin of ``x`` is the number of
edges ``<= x`` (``bisect_right``), so with ``k`` edges there are ``k + 1`` bins: bin 0
is ``x < edges[0]``, bin ``i`` is ``edges[i-1] <= x < edges[i]``, the last bin is
``x >= edges[-1]``. A continuous feature gets 9 edges and 10 bins of about 10% each.
A discrete feature with repeated quantiles gets fewer edges, hence fewer (and
unequal) bins; bin 0 is then often empty (the smallest edge is the minimum value).
"""

from __future__ import annotations

from typing import Any

import numpy as np

DECILES = np.linspace(0.1, 0.9, 9)
SAMPLE_SIZE = 2000


def decile_edges(values: np.ndarray) -> np.ndarray:
    """Return the de-duplicated inner decile edges of ``values``.

    Parameters
    ----------
    values : numpy.ndarray
        Finite training values.

    Returns
    -------
    numpy.ndarray
        Sorted unique 10%..90% quantiles: 9 edges, fewer when quantiles repeat.

    Examples
    --------
    >>> decile_edges(np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 2], dtype=float)).tolist()
    [0.0, 1.0]
    """
    return np.unique(np.quantile(np.asarray(values, dtype=np.float64), DECILES, method="inverted_cdf"))


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Return each value's bin: the number of edges ``<= value``.

    Parameters
    ----------
    values : numpy.ndarray
        Values to bin.
    edges : numpy.ndarray
        Sorted edges.

    Returns
    -------
    numpy.ndarray
        int64 bin indices in ``[0, len(edges)]``.

    Examples
    --------
    >>> bin_index(np.array([-1.0, 0.0, 0.5, 1.0, 9.0]), np.array([0.0, 1.0])).tolist()
    [0, 1, 1, 2, 2]
    """
    return np.searchsorted(np.asarray(edges), np.asarray(values), side="right").astype(np.int64)


def bin_proportions(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Return the share of ``values`` in each of the ``len(edges) + 1`` bins.

    Parameters
    ----------
    values : numpy.ndarray
        Non-empty array of finite values.
    edges : numpy.ndarray
        Sorted edges.

    Returns
    -------
    numpy.ndarray
        float64 proportions summing to 1.
    """
    counts = np.bincount(bin_index(values, edges), minlength=len(edges) + 1)
    return counts / counts.sum()


def reference_distribution(values: np.ndarray, rng: np.random.Generator, sample_size: int = SAMPLE_SIZE) -> dict[str, Any]:
    """Summarise training values for drift monitoring.

    Parameters
    ----------
    values : numpy.ndarray
        Training values of one feature (or of the model score); may hold NaN.
    rng : numpy.random.Generator
        Seeded generator that picks the sample.
    sample_size : int, optional
        Largest number of values kept for a two-sample KS test.

    Returns
    -------
    dict
        ``edges``, ``proportions`` (over finite values), ``missing_proportion``
        (share of non-finite values) and ``sample`` (finite values, drawn without
        replacement, in random order).

    Examples
    --------
    >>> ref = reference_distribution(np.arange(100.0), np.random.default_rng(0), sample_size=5)
    >>> len(ref["edges"]), len(ref["proportions"]), len(ref["sample"])
    (9, 10, 5)
    """
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    edges = decile_edges(finite)
    sample = rng.choice(finite, size=min(sample_size, len(finite)), replace=False)
    return {
        "edges": edges.tolist(),
        "proportions": bin_proportions(finite, edges).tolist(),
        "missing_proportion": float(1.0 - len(finite) / len(values)),
        "sample": sample.tolist(),
    }
