"""Generated training sets: the synthetic population with labels, true probabilities and an optional shock."""

from __future__ import annotations

import numpy as np

from pipeline.fairness.groups import GroupTable
from pipeline.retrain.dataset import Dataset, build, parse_time, sorted_dataset
from pipeline.population.demographics import demographics_for
from pipeline.population.features import feature_names
from pipeline.population.synthetic import Spec, generate, load_spec


def generated_dataset(rows: int, seed: int, shock_at: float | None = None, spec: Spec | None = None) -> Dataset:
    """Generate a labelled dataset from the population spec (:func:`generated_with_groups` without the groups).

    Examples
    --------
    >>> ds = generated_dataset(500, seed=3, shock_at=0.5)
    >>> 400 < ds.rows < 600, bool(np.isfinite(ds.true_probability).all())
    (True, True)
    """
    return generated_with_groups(rows, seed, shock_at, spec)[0]


def generated_with_groups(rows: int, seed: int, shock_at: float | None = None, spec: Spec | None = None) -> tuple[Dataset, GroupTable]:
    """Generate a labelled dataset from the population spec, and its applicants' demographics apart from it.

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
    tuple of (Dataset, GroupTable)
        The dataset, sorted by time, ids ``gen-<seed>-<index>``, ``true_probability`` filled; and the
        protected attributes of the same ids (:mod:`pipeline.population.demographics`), never in the dataset.

    Examples
    --------
    >>> ds, groups = generated_with_groups(500, seed=3)
    >>> groups.rows == ds.rows, sorted(groups.columns), ds.X.shape[1]
    (True, ['race_ethnicity', 'sex'], 7)
    """
    spec = load_spec() if spec is None else spec
    base = generate(rows, seed, spec=spec)
    parts = [(base, np.ones(rows, dtype=bool), seed)]
    if shock_at is not None:
        shocked = generate(rows, seed + 1, shock=True, spec=spec)
        window = _window_ms(spec)
        cut = window[0] + int((window[1] - window[0]) * shock_at)
        parts = [(base, base.submitted_at < cut, seed), (shocked, shocked.submitted_at >= cut, seed + 1)]
    ids, times, X, y, p = [], [], [], [], []
    demographics: dict[str, list[np.ndarray]] = {}
    offset = 0
    for population, keep, part_seed in parts:
        idx = np.flatnonzero(keep)
        for name, values in demographics_for(population.X, part_seed, spec).items():
            demographics.setdefault(name, []).append(values[idx])
        ids += [f"gen-{seed}-{offset + i:07d}" for i in idx]
        offset += len(population.submitted_at)
        times.append(population.submitted_at[idx])
        X.append(population.X[idx])
        y.append(population.defaulted[idx])
        p.append(population.probability[idx])
    groups = GroupTable(np.asarray(ids, dtype=object), {name: np.concatenate(parts_) for name, parts_ in demographics.items()})
    return sorted_dataset(build(ids, np.concatenate(times), np.concatenate(X), np.concatenate(y), np.concatenate(p), feature_names())), groups


def _window_ms(spec: Spec) -> tuple[int, int]:
    return parse_time(spec["time_window"]["from"]), parse_time(spec["time_window"]["to"])
