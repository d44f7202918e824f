"""Generated training sets: the synthetic population with labels, true probabilities and an optional shock."""

from __future__ import annotations

import numpy as np

from pipeline.retrain.dataset import Dataset, build, parse_time, sorted_dataset
from pipeline.population.features import feature_names
from pipeline.population.synthetic import Spec, generate, load_spec


def generated_dataset(rows: int, seed: int, shock_at: float | None = None, spec: Spec | None = None) -> Dataset:
    """Generate a labelled dataset from the population spec.

    Parameters
    ----------
    rows : int
        Number of applicants (about ``rows`` when ``shock_at`` is set: each half of the time
        window keeps the rows of its own population that fall in it).
    seed : int
        Seed of the baseline population; the shocked one uses ``seed + 1``.
    shock_at : float, optional
        Fraction of the spec's time window from which applicants come from the shocked
        population (incomes fall, debt and late payments rise); ``None`` for no shock.
    spec : dict, optional
        Population spec; defaults to ``schemas/population.json``.

    Returns
    -------
    Dataset
        Sorted by time, ids ``gen-<seed>-<index>``, ``true_probability`` filled.

    Examples
    --------
    >>> ds = generated_dataset(500, seed=3, shock_at=0.5)
    >>> 400 < ds.rows < 600, bool(np.isfinite(ds.true_probability).all())
    (True, True)
    """
    spec = load_spec() if spec is None else spec
    base = generate(rows, seed, spec=spec)
    parts = [(base, np.ones(rows, dtype=bool))]
    if shock_at is not None:
        shocked = generate(rows, seed + 1, shock=True, spec=spec)
        window = _window_ms(spec)
        cut = window[0] + int((window[1] - window[0]) * shock_at)
        parts = [(base, base.submitted_at < cut), (shocked, shocked.submitted_at >= cut)]
    ids, times, X, y, p = [], [], [], [], []
    offset = 0
    for population, keep in parts:
        idx = np.flatnonzero(keep)
        ids += [f"gen-{seed}-{offset + i:07d}" for i in idx]
        offset += len(population.submitted_at)
        times.append(population.submitted_at[idx])
        X.append(population.X[idx])
        y.append(population.defaulted[idx])
        p.append(population.probability[idx])
    return sorted_dataset(build(ids, np.concatenate(times), np.concatenate(X), np.concatenate(y), np.concatenate(p), feature_names()))


def _window_ms(spec: Spec) -> tuple[int, int]:
    return parse_time(spec["time_window"]["from"]), parse_time(spec["time_window"]["to"])
