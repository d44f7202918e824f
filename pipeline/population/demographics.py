"""Protected-class attributes of the synthetic applicants (``demographics`` of ``schemas/population.json``).

Drawn after the features, from a multinomial logit over them: each attribute's categories carry a
``score`` expression (:mod:`pipeline.population.expressions`), the category probabilities are the softmax
of the scores, and one uniform draw per applicant and attribute picks the category (categories in the
order listed). The TypeScript simulator (``services/simulator/demographics.ts``) does the same.

They exist for fair-lending evaluation only (docs/fairness.md): never a model feature and never in the
training matrix - :func:`demographics_for` takes the feature matrix and returns separate columns that the
extract stage writes to their own file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from pipeline.population.expressions import evaluate, references
from pipeline.population.features import feature_names

DEMOGRAPHICS_STREAM = 0xDE40
"""Second word of the seed of the demographics' own random stream (``default_rng([seed, DEMOGRAPHICS_STREAM])``)."""


class Attribute(NamedTuple):
    """One protected attribute: its categories (in draw order) and score expressions."""

    name: str
    reference: str
    not_provided: str | None
    categories: tuple[str, ...]
    scores: tuple[Any, ...]


def attributes(spec: Mapping[str, Any]) -> list[Attribute]:
    """Return the spec's protected attributes, checked.

    Raises
    ------
    ValueError
        When a category repeats, the reference or not-provided category is not one of them, or a score
        refers to something other than a feature.

    Examples
    --------
    >>> from pipeline.population.synthetic import load_spec
    >>> [(a.name, a.reference, len(a.categories)) for a in attributes(load_spec())]
    [('race_ethnicity', 'WHITE', 6), ('sex', 'MALE', 3)]
    """
    found = []
    features = set(feature_names())
    for raw in spec["demographics"]["attributes"]:
        cats = tuple(str(c["value"]) for c in raw["categories"])
        name = raw["name"]
        if len(set(cats)) != len(cats):
            raise ValueError(f"demographics.{name}: a category appears twice in {list(cats)}")
        for key in ("reference", "not_provided"):
            if raw.get(key) is not None and raw[key] not in cats:
                raise ValueError(f"demographics.{name}.{key}: {raw[key]!r} is not one of {list(cats)}")
        scores = tuple(c["score"] for c in raw["categories"])
        unknown = set().union(*(references(s) for s in scores)) - features
        if unknown:
            raise ValueError(f"demographics.{name}: scores refer to {sorted(unknown)}, not features")
        found.append(Attribute(name, raw["reference"], raw.get("not_provided"), cats, scores))
    return found


def probabilities(attribute: Attribute, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Return the ``[n, categories]`` category probabilities: the softmax of the score expressions.

    Examples
    --------
    >>> a = Attribute("g", "A", None, ("A", "B"), (0, {"mul": [1.0, "x"]}))
    >>> probabilities(a, {"x": np.array([0.0, np.log(3.0)])}, 2).round(3).tolist()
    [[0.5, 0.5], [0.25, 0.75]]
    """
    scores = np.column_stack([np.broadcast_to(np.asarray(evaluate(s, columns), dtype=np.float64), (n,)) for s in attribute.scores])
    scores = scores - scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=1, keepdims=True)


def sample(rng: np.random.Generator, spec: Mapping[str, Any], columns: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Draw every attribute for ``n`` applicants: one uniform per applicant and attribute, attributes in spec order.

    Returns
    -------
    dict of str to numpy.ndarray
        Attribute name to an object array of category values.
    """
    out = {}
    for attribute in attributes(spec):
        p = probabilities(attribute, columns, n)
        u = rng.random(n)
        idx = np.minimum((np.cumsum(p, axis=1) <= u[:, None]).sum(axis=1), len(attribute.categories) - 1)
        out[attribute.name] = np.asarray(attribute.categories, dtype=object)[idx]
    return out


def demographics_for(X: np.ndarray, seed: int, spec: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Return the demographics of the applicants whose features are the rows of ``X`` (their own seeded stream).

    Parameters
    ----------
    X : numpy.ndarray
        ``[n, n_features]`` in schema feature order.
    seed : int
        The seed of the batch; the demographics use ``default_rng([seed, DEMOGRAPHICS_STREAM])``, so the
        features' random stream is untouched.
    spec : mapping
        The population spec.

    Examples
    --------
    >>> from pipeline.population.synthetic import generate, load_spec
    >>> d = demographics_for(generate(200, seed=1).X, 1, load_spec())
    >>> sorted(d), len(d["sex"])
    (['race_ethnicity', 'sex'], 200)
    """
    names = feature_names()
    columns = {name: np.asarray(X[:, i], dtype=np.float64) for i, name in enumerate(names)}
    return sample(np.random.default_rng([seed, DEMOGRAPHICS_STREAM]), spec, columns, len(X))
