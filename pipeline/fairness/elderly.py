"""The elderly-age rule of Regulation B, as data from ``schemas/population.json`` and as a check on a model.

12 CFR 1002.6(b)(2)(ii) allows age in an empirically derived scoring system only if the age of an elderly
applicant (62 or older, 1002.2(o)) is never assigned a negative factor or value. The spec's ``fair_lending``
section names the feature and the age (``elderly``) and the monotone constraint every training adds
(``model_monotone``: non-increasing in age). :func:`check` verifies the rule on any scoring function (the
exported ONNX model in the bundle writer, XGBoost in the gate): with all else fixed, the probability never
rises when age moves within the elderly range, or from any younger age into it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np

from pipeline.population.synthetic import Spec, load_spec

AGE_MIN, AGE_MAX = 18.0, 120.0
"""The scorer's valid ages (schemas/loan-application.avsc rules; pipeline/population/validation.py)."""


class ElderlyRule(NamedTuple):
    """Which feature is age and from which value an applicant is elderly."""

    feature: str
    elderly_from: float


class ElderlyCheck(NamedTuple):
    """What :func:`check` found.

    Attributes
    ----------
    rows : int
        Rows varied along age.
    points : int
        Ages each row was scored at (whole ages 18..120 and every split threshold of the model on age).
    rises_within : int
        Steps ``a -> b``, ``from <= a < b``, where the probability rose.
    rows_rising_into : int
        Rows whose probability at some elderly age exceeds their probability at some younger age.
    worst : float
        Largest such rise (0 when none).
    """

    rows: int
    points: int
    rises_within: int
    rows_rising_into: int
    worst: float

    @property
    def violations(self) -> int:
        """Rises within the elderly range plus rows rising into it."""
        return self.rises_within + self.rows_rising_into


def rule(spec: Spec | None = None) -> ElderlyRule:
    """Return the spec's elderly rule.

    Examples
    --------
    >>> rule()
    ElderlyRule(feature='age', elderly_from=62.0)
    """
    section = (load_spec() if spec is None else spec)["fair_lending"]["elderly"]
    return ElderlyRule(str(section["feature"]), float(section["from"]))


def model_monotone(spec: Spec | None = None) -> dict[str, int]:
    """Return the monotone constraints every training adds (``fair_lending.model_monotone``).

    Examples
    --------
    >>> model_monotone()
    {'age': -1}
    """
    return {str(k): int(v) for k, v in (load_spec() if spec is None else spec)["fair_lending"]["model_monotone"].items()}


def age_points(thresholds: Iterable[float], elderly_from: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the ages a row is scored at, below and from ``elderly_from``.

    A tree ensemble is constant in age between consecutive split thresholds, so scoring at every whole age
    of the valid range and at every threshold (float32, as the model compares) covers every value it can
    give; ``elderly_from`` itself starts the elderly range.

    Examples
    --------
    >>> younger, elderly = age_points([61.5, 70.25, 200.0], 62)
    >>> younger[-2:].tolist(), elderly[:3].tolist(), elderly[-1].item()
    ([61.0, 61.5], [62.0, 63.0, 64.0], 120.0)
    """
    whole = np.arange(AGE_MIN, AGE_MAX + 1.0)
    cuts = np.asarray([t for t in thresholds if AGE_MIN <= t <= AGE_MAX], dtype=np.float32).astype(np.float64)
    points = np.unique(np.concatenate([whole, cuts, [elderly_from]]))
    return points[points < elderly_from], points[points >= elderly_from]


def check(score: Callable[[np.ndarray], np.ndarray], X_rows: np.ndarray, names: list[str], elderly: ElderlyRule, thresholds: Iterable[float] = ()) -> ElderlyCheck:
    """Score every row at every age of :func:`age_points`, all else fixed, and count the rule's violations.

    Parameters
    ----------
    score : callable
        ``[n, n_features] -> [n]`` probabilities (onnxruntime on the exported bytes, or XGBoost).
    X_rows : numpy.ndarray
        Rows to vary (e.g. a sample of the holdout).
    names : list of str
        Feature names in column order; must contain ``elderly.feature``.
    elderly : ElderlyRule
        The rule.
    thresholds : iterable of float, optional
        The model's split thresholds on age.

    Returns
    -------
    ElderlyCheck

    Examples
    --------
    >>> X = np.array([[30.0, 1.0], [70.0, 2.0]])
    >>> r = ElderlyRule("age", 62.0)
    >>> check(lambda Z: 1 / (1 + np.exp(Z[:, 0] / 50)), X, ["age", "x"], r).violations
    0
    >>> c = check(lambda Z: (Z[:, 0] - 45) ** 2 / 6000, X, ["age", "x"], r)
    >>> c.rows_rising_into, c.rises_within > 0
    (2, True)
    """
    j = names.index(elderly.feature)
    younger, older = age_points(thresholds, elderly.elderly_from)
    ages = np.concatenate([younger, older])
    stacked = np.repeat(np.asarray(X_rows, dtype=np.float64)[None, :, :], len(ages), axis=0)
    stacked[:, :, j] = ages[:, None]
    p = np.asarray(score(stacked.reshape(-1, X_rows.shape[1]))).reshape(len(ages), len(X_rows))
    p_young, p_old = p[: len(younger)], p[len(younger) :]
    steps = np.diff(p_old, axis=0)
    into = p_old.max(axis=0) - p_young.min(axis=0)
    worst = max(float(steps.max(initial=0.0)), float(into.max(initial=0.0)), 0.0)
    return ElderlyCheck(int(len(X_rows)), int(len(ages)), int((steps > 0).sum()), int((into > 0).sum()), worst)


def record(result: ElderlyCheck, elderly: ElderlyRule) -> dict[str, Any]:
    """Return the check as the metadata field ``elderly_age_check`` (and the model card) records it."""
    return {"feature": elderly.feature, "elderly_from": elderly.elderly_from, **result._asdict(), "violations": result.violations}


def merged_constraints(monotone: Mapping[str, int], spec: Spec | None = None) -> dict[str, int]:
    """Return ``monotone`` with the fair-lending constraints added (they win over a conflicting sign).

    Examples
    --------
    >>> merged_constraints({"num_late_payments": 1})
    {'num_late_payments': 1, 'age': -1}
    """
    return {**dict(monotone), **model_monotone(spec)}
