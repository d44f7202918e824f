"""Interpreter of ``schemas/population.json``: the synthetic applicant population.

The spec describes each feature's distribution (parameters are expressions over
features generated before it, see :mod:`pipeline.population.expressions`), a logistic default
model, and a macro ``shock`` expressed as parameter changes. The TypeScript
simulator (``services/simulator/population.ts``) interprets the same spec and
samples the same distributions.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from pipeline.population.expressions import evaluate, references
from pipeline.population.features import feature_names
from pipeline.paths import POPULATION_SPEC
from pipeline.population.validation import invalid_rows

Spec = dict[str, Any]

DIST_PARAMS = {
    "normal": ("mean", "sd"),
    "lognormal": ("meanlog", "sdlog"),
    "gamma": ("shape", "scale"),
    "beta": ("a", "b"),
    "poisson": ("rate",),
    "uniform": ("low", "high"),
}
"""Parameters of each distribution type, in the order the samplers take them."""


class Population(NamedTuple):
    """A generated batch of applicants.

    Attributes
    ----------
    X : numpy.ndarray
        float64 ``[n, n_features]``, columns in schema feature order.
    probability : numpy.ndarray
        float64 ``[n]``, the true P(default) of each row under the spec.
    defaulted : numpy.ndarray
        int8 ``[n]``, 1 when the applicant defaulted (Bernoulli(probability)).
    submitted_at : numpy.ndarray
        int64 ``[n]``, epoch milliseconds, ascending.
    """

    X: np.ndarray
    probability: np.ndarray
    defaulted: np.ndarray
    submitted_at: np.ndarray


def load_spec(path: Path | str = POPULATION_SPEC) -> Spec:
    """Read and check a population spec.

    Parameters
    ----------
    path : path-like, optional
        JSON spec. Defaults to the repository's ``schemas/population.json``.

    Returns
    -------
    dict
        The parsed spec.

    Raises
    ------
    ValueError
        If the spec's features are not the schema's features in schema order, a
        distribution is unknown or misses a parameter, or an expression refers to
        a feature that is not generated before it.

    Examples
    --------
    >>> spec = load_spec()
    >>> spec["features"][0]["name"]
    'age'
    """
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    check_spec(spec)
    return spec


def check_spec(spec: Spec) -> None:
    """Raise ``ValueError`` if ``spec`` is not a well-formed population spec.

    Parameters
    ----------
    spec : dict
        A parsed population spec.
    """
    names = [feature["name"] for feature in spec["features"]]
    if names != feature_names():
        raise ValueError(f"spec features {names} are not the schema features {feature_names()} in order")
    seen: set[str] = set()
    for feature in spec["features"]:
        dist = feature["dist"]
        if dist["type"] not in DIST_PARAMS:
            raise ValueError(f"{feature['name']}: unknown distribution {dist['type']!r}")
        exprs = [dist[p] for p in DIST_PARAMS[dist["type"]]]
        exprs += [step[k] for step in feature["post"] for k in ("value", "lo", "hi") if k in step]
        unknown = set().union(*(references(e) for e in exprs)) - seen
        if unknown:
            raise ValueError(f"{feature['name']}: refers to {sorted(unknown)}, not generated before it")
        seen.add(feature["name"])
    model_refs = set().union(*(references(t["expr"]) for t in spec["default_model"]["terms"]))
    if not model_refs <= seen:
        raise ValueError(f"default model refers to unknown features {sorted(model_refs - seen)}")
    if "demographics" in spec:
        from pipeline.population.demographics import attributes

        attributes(spec)


def apply_shock(spec: Spec) -> Spec:
    """Return the spec of the shocked population (``spec`` is not modified).

    Parameters
    ----------
    spec : dict
        A population spec with a ``shock`` section.

    Returns
    -------
    dict
        A copy whose distribution parameters carry the shock's changes: ``set``
        replaces a parameter, ``add`` / ``mul`` wrap it as ``{"add"|"mul": [old, value]}``.

    Examples
    --------
    >>> spec = {"features": [{"name": "x", "dist": {"type": "normal", "mean": 0, "sd": 1}, "post": []}],
    ...         "shock": {"changes": [{"feature": "x", "param": "mean", "op": "add", "value": 2}]}}
    >>> apply_shock(spec)["features"][0]["dist"]["mean"]
    {'add': [0, 2]}
    """
    shocked = copy.deepcopy(spec)
    by_name = {feature["name"]: feature for feature in shocked["features"]}
    for change in spec["shock"]["changes"]:
        dist = by_name[change["feature"]]["dist"]
        if change["param"] not in DIST_PARAMS[dist["type"]]:
            raise ValueError(f"shock: {change['feature']} has no parameter {change['param']!r}")
        old, value = dist[change["param"]], change["value"]
        if change["op"] == "set":
            dist[change["param"]] = value
        elif change["op"] in ("add", "mul"):
            dist[change["param"]] = {change["op"]: [old, value]}
        else:
            raise ValueError(f"shock: unknown op {change['op']!r}")
    return shocked


def affected_by_shock(spec: Spec) -> set[str]:
    """Return the features whose distribution the shock changes.

    A feature is affected when the shock changes one of its parameters, or when
    its parameters or post steps refer to an affected feature.

    Parameters
    ----------
    spec : dict
        A population spec.

    Returns
    -------
    set of str
        Names of the affected features.

    Examples
    --------
    >>> sorted(affected_by_shock(load_spec()))[:2]
    ['age', 'annual_income']
    """
    affected = {change["feature"] for change in spec["shock"]["changes"]}
    for feature in spec["features"]:
        dist = feature["dist"]
        exprs = [dist[p] for p in DIST_PARAMS[dist["type"]]]
        exprs += [step[k] for step in feature["post"] for k in ("value", "lo", "hi") if k in step]
        if set().union(*(references(e) for e in exprs)) & affected:
            affected.add(feature["name"])
    return affected


def _sample(rng: np.random.Generator, dist: Mapping[str, Any], env: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    kind = dist["type"]
    params = [np.broadcast_to(np.asarray(evaluate(dist[p], env), dtype=np.float64), (n,)) for p in DIST_PARAMS[kind]]
    if kind == "normal":
        return rng.normal(params[0], params[1])
    if kind == "lognormal":
        return rng.lognormal(params[0], params[1])
    if kind == "gamma":
        return rng.gamma(params[0], params[1])
    if kind == "beta":
        return rng.beta(params[0], params[1])
    if kind == "poisson":
        return rng.poisson(params[0]).astype(np.float64)
    if kind == "uniform":
        return rng.uniform(params[0], params[1])
    raise ValueError(f"unknown distribution {kind!r}")


def _post(values: np.ndarray, steps: list[Mapping[str, Any]], env: Mapping[str, np.ndarray]) -> np.ndarray:
    for step in steps:
        op = step["op"]
        if op == "add":
            values = values + evaluate(step["value"], env)
        elif op == "mul":
            values = values * evaluate(step["value"], env)
        elif op == "floor":
            values = np.floor(values)
        elif op == "clip":
            values = np.minimum(np.maximum(values, evaluate(step["lo"], env)), evaluate(step["hi"], env))
        else:
            raise ValueError(f"unknown post step {op!r}")
    return values


def generate_features(rng: np.random.Generator, spec: Spec, n: int) -> dict[str, np.ndarray]:
    """Sample ``n`` applicants' features from ``spec`` (no shock applied here).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness; consumed feature by feature in spec order.
    spec : dict
        A population spec (pass ``apply_shock(spec)`` for the shocked population).
    n : int
        Number of applicants.

    Returns
    -------
    dict of str to numpy.ndarray
        Feature name to float64 column, in spec (= schema) order.

    Examples
    --------
    >>> cols = generate_features(np.random.default_rng(0), load_spec(), 3)
    >>> list(cols)[:2], cols["age"].shape
    (['age', 'annual_income'], (3,))
    """
    env: dict[str, np.ndarray] = {}
    for feature in spec["features"]:
        raw = _sample(rng, feature["dist"], env, n)
        env[feature["name"]] = _post(raw, feature["post"], env).astype(np.float64)
    return env


def logit(columns: Mapping[str, np.ndarray], spec: Spec) -> np.ndarray:
    """Return the default model's log-odds for each row.

    Parameters
    ----------
    columns : mapping of str to numpy.ndarray
        Feature columns by name.
    spec : dict
        A population spec.

    Returns
    -------
    numpy.ndarray
        ``intercept + sum(coef * expr)``, terms added in spec order.
    """
    model = spec["default_model"]
    n = len(next(iter(columns.values())))
    total = np.full(n, float(model["intercept"]))
    for term in model["terms"]:
        total = total + float(term["coef"]) * evaluate(term["expr"], columns)
    return total


def default_probability(columns: Mapping[str, np.ndarray], spec: Spec) -> np.ndarray:
    """Return the true P(default) of each row under the spec's logistic model.

    Parameters
    ----------
    columns : mapping of str to numpy.ndarray
        Feature columns by name (e.g. from :func:`generate_features` or :func:`as_columns`).
    spec : dict
        A population spec.

    Returns
    -------
    numpy.ndarray
        float64 probabilities ``1 / (1 + exp(-logit))``.

    Examples
    --------
    >>> spec = load_spec()
    >>> cols = generate_features(np.random.default_rng(1), spec, 4)
    >>> p = default_probability(cols, spec)
    >>> bool(((p > 0) & (p < 1)).all())
    True
    """
    return 1.0 / (1.0 + np.exp(-logit(columns, spec)))


def as_columns(X: np.ndarray, names: list[str] | None = None) -> dict[str, np.ndarray]:
    """Split a feature matrix into named columns.

    Parameters
    ----------
    X : numpy.ndarray
        ``[n, n_features]`` in schema feature order.
    names : list of str, optional
        Column names; defaults to the schema's feature names.

    Returns
    -------
    dict of str to numpy.ndarray
    """
    names = feature_names() if names is None else names
    return {name: np.asarray(X[:, i], dtype=np.float64) for i, name in enumerate(names)}


def _iso_to_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def generate(n: int, seed: int, shock: bool = False, spec: Spec | None = None) -> Population:
    """Generate a seeded batch of applicants with outcomes.

    Parameters
    ----------
    n : int
        Number of applicants.
    seed : int
        Seed of ``numpy.random.default_rng``; the same ``(n, seed, shock, spec)``
        always gives the same batch.
    shock : bool, optional
        Generate the macro-shocked population instead of the baseline.
    spec : dict, optional
        Population spec; defaults to :func:`load_spec`.

    Returns
    -------
    Population
        ``(X, probability, defaulted, submitted_at)``; rows sorted by
        ``submitted_at``, uniform over the spec's time window.

    Raises
    ------
    AssertionError
        If a generated row breaks a validation rule (never expected).

    Examples
    --------
    >>> X, p, y, t = generate(1000, seed=7)
    >>> X.shape, bool((t[1:] >= t[:-1]).all())
    ((1000, 7), True)
    """
    spec = load_spec() if spec is None else spec
    if shock:
        spec = apply_shock(spec)
    rng = np.random.default_rng(seed)
    window = spec["time_window"]
    submitted_at = np.sort(rng.integers(_iso_to_ms(window["from"]), _iso_to_ms(window["to"]), size=n, dtype=np.int64))
    columns = generate_features(rng, spec, n)
    probability = default_probability(columns, spec)
    defaulted = (rng.random(n) < probability).astype(np.int8)
    names = [feature["name"] for feature in spec["features"]]
    X = np.column_stack([columns[name] for name in names]) if n else np.empty((0, len(names)))
    bad = invalid_rows(X, names)
    assert not bad.any(), f"{int(bad.sum())} generated rows break the validation rules"
    return Population(X, probability, defaulted, submitted_at)
