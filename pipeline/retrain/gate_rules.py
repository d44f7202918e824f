"""The gate's rules: quality floors and the comparison with the champion, as data; and their table.

A candidate passes when every check passes. Floors: ROC-AUC >= ``roc_auc_min``, PR-AUC >=
``pr_auc_min``, Brier <= ``brier_max`` (and ECE <= ``ece_max`` when set; otherwise the calibration
error is reported only). Champion: on the same holdout, candidate ROC-AUC >= champion's - margin,
PR-AUC >= champion's - margin, Brier <= champion's + margin. Fair lending (docs/fairness.md): the
probability never rises with age from 62 on (Regulation B), and the adverse impact ratio of every
monitored group is at least the floor and not clearly below the champion's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from pipeline.retrain.params import GateParams


class Check(NamedTuple):
    """One rule applied to one metric.

    Attributes
    ----------
    name : str
        Human-readable rule, e.g. ``'roc_auc >= 0.70'``.
    metric : str
        Metric name (``roc_auc``, ``pr_auc``, ``brier``, ``ece``).
    op : str
        ``'>='``, ``'<='`` or ``'info'`` (reported, not checked).
    threshold : float or None
        Bound the value is compared with.
    value : float
        The candidate's value.
    passed : bool or None
        ``None`` for a reported-only line.
    """

    name: str
    metric: str
    op: str
    threshold: float | None
    value: float
    passed: bool | None


def _check(name: str, metric: str, op: str, threshold: float, value: float) -> Check:
    passed = value >= threshold if op == ">=" else value <= threshold
    return Check(name, metric, op, threshold, value, bool(passed))


def floor_checks(metrics: Mapping[str, float], gate: GateParams) -> list[Check]:
    """Return the floor checks of a candidate's holdout metrics.

    Examples
    --------
    >>> checks = floor_checks({"roc_auc": 0.52, "pr_auc": 0.21, "brier": 0.16, "ece": 0.01}, GateParams())
    >>> [(c.name, c.passed) for c in checks]
    [('roc_auc >= 0.7', False), ('pr_auc >= 0.45', False), ('brier <= 0.2', True), ('ece (reported)', None)]
    """
    checks = [
        _check(f"roc_auc >= {gate.roc_auc_min:g}", "roc_auc", ">=", gate.roc_auc_min, metrics["roc_auc"]),
        _check(f"pr_auc >= {gate.pr_auc_min:g}", "pr_auc", ">=", gate.pr_auc_min, metrics["pr_auc"]),
        _check(f"brier <= {gate.brier_max:g}", "brier", "<=", gate.brier_max, metrics["brier"]),
    ]
    if gate.ece_max is None:
        checks.append(Check("ece (reported)", "ece", "info", None, metrics["ece"], None))
    else:
        checks.append(_check(f"ece <= {gate.ece_max:g}", "ece", "<=", gate.ece_max, metrics["ece"]))
    return checks


def champion_checks(metrics: Mapping[str, float], champion: Mapping[str, float], version: str, gate: GateParams) -> list[Check]:
    """Return the checks against the champion's metrics on the same holdout.

    Examples
    --------
    >>> cand, champ = {"roc_auc": 0.80, "pr_auc": 0.60, "brier": 0.12}, {"roc_auc": 0.82, "pr_auc": 0.60, "brier": 0.12}
    >>> [(c.name, c.passed) for c in champion_checks(cand, champ, "3", GateParams())]
    [('roc_auc >= champion v3 - 0.01', False), ('pr_auc >= champion v3 - 0.02', True), ('brier <= champion v3 + 0.01', True)]
    """
    m = gate.margin
    return [
        _check(f"roc_auc >= champion v{version} - {m.roc_auc:g}", "roc_auc", ">=", champion["roc_auc"] - m.roc_auc, metrics["roc_auc"]),
        _check(f"pr_auc >= champion v{version} - {m.pr_auc:g}", "pr_auc", ">=", champion["pr_auc"] - m.pr_auc, metrics["pr_auc"]),
        _check(f"brier <= champion v{version} + {m.brier:g}", "brier", "<=", champion["brier"] + m.brier, metrics["brier"]),
    ]


def elderly_checks(violations: int, elderly_from: float) -> list[Check]:
    """Return the check of Regulation B's elderly-age rule (violations counted by :mod:`pipeline.fairness.elderly`).

    Examples
    --------
    >>> [(c.name, c.passed) for c in elderly_checks(3, 62)]
    [('age >= 62 never raises risk (violations)', False)]
    """
    return [_check(f"age >= {elderly_from:g} never raises risk (violations)", "elderly_age_violations", "<=", 0.0, float(violations))]


def fairness_checks(candidate: Mapping[str, Any], champion: Mapping[str, Any] | None, version: str | None, gate: GateParams) -> list[Check]:
    """Return the disparate-impact checks: per attribute, the lowest AIR of a compared group against the floor
    and against the champion's on the same holdout, and the largest SMD (a ceiling when ``smd_max`` is set).

    ``candidate`` and ``champion`` are ``attributes`` of :func:`pipeline.retrain.fair_lending.holdout_disparity`.

    Examples
    --------
    >>> cand = {"race_ethnicity": {"min_air": 0.70, "min_air_group": "BLACK", "max_smd": 0.6}}
    >>> champ = {"race_ethnicity": {"min_air": 0.88, "min_air_group": "BLACK", "max_smd": 0.4}}
    >>> [(c.name, c.passed) for c in fairness_checks(cand, champ, "1", GateParams())]
    [('air race_ethnicity >= 0.8 (BLACK)', False), ('smd race_ethnicity (reported)', None), ('air race_ethnicity >= champion v1 - 0.05', False)]
    """
    f = gate.fairness
    checks = []
    for name, figures in candidate.items():
        if figures["min_air"] is None:
            continue
        checks.append(_check(f"air {name} >= {f.air_min:g} ({figures['min_air_group']})", f"air_{name}", ">=", f.air_min, figures["min_air"]))
        if figures["max_smd"] is not None:
            if f.smd_max is None:
                checks.append(Check(f"smd {name} (reported)", f"smd_{name}", "info", None, figures["max_smd"], None))
            else:
                checks.append(_check(f"smd {name} <= {f.smd_max:g}", f"smd_{name}", "<=", f.smd_max, figures["max_smd"]))
        theirs = (champion or {}).get(name)
        if theirs and theirs["min_air"] is not None:
            checks.append(_check(f"air {name} >= champion v{version} - {f.air_margin:g}", f"air_{name}", ">=", theirs["min_air"] - f.air_margin, figures["min_air"]))
    return checks


def failed(checks: list[Check]) -> list[str]:
    """Return the names of the failed checks (empty when the candidate passes).

    Examples
    --------
    >>> failed([Check("a", "roc_auc", ">=", 0.7, 0.5, False), Check("b", "ece", "info", None, 0.1, None)])
    ['a']
    """
    return [c.name for c in checks if c.passed is False]


def table(checks: list[Check]) -> str:
    """Return the checks as an aligned text table (one line per check, PASS / FAIL / info).

    Examples
    --------
    >>> print(table([Check("roc_auc >= 0.7", "roc_auc", ">=", 0.7, 0.51234, False)]))
    check           candidate  threshold  result
    roc_auc >= 0.7     0.5123     0.7000  FAIL
    """
    rows = [("check", "candidate", "threshold", "result")]
    for c in checks:
        result = "info" if c.passed is None else ("PASS" if c.passed else "FAIL")
        rows.append((c.name, f"{c.value:.4f}", "-" if c.threshold is None else f"{c.threshold:.4f}", result))
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(f"{r[0]:<{width[0]}}  {r[1]:>{width[1]}}  {r[2]:>{width[2]}}  {r[3]}" for r in rows)
