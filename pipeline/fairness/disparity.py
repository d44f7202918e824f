"""Disparate-impact figures of a model's scores per protected group (docs/fairness.md).

For one attribute and a reference group: per group the row count, the approval rate (share of scores
below the approval threshold: an APPROVE decision), the adverse impact ratio AIR = approval rate /
the reference group's (the "four-fifths rule" flags AIR < 0.80), the standardized mean difference of the
score SMD = (mean - reference mean) / pooled standard deviation (positive: the group is scored riskier),
and, with labels, the default rate among the approved. Groups below ``min_rows`` and the not-provided
category are counted but get no AIR/SMD. The streaming monitor computes the same figures per window
(``services/drift/fairness``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def smd(a: np.ndarray, b: np.ndarray) -> float:
    """Return the standardized mean difference ``(mean(a) - mean(b)) / pooled sd`` (NaN when undefined).

    The pooled variance is ``((na-1) va + (nb-1) vb) / (na + nb - 2)`` with unbiased group variances.

    Examples
    --------
    >>> round(smd(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0])), 6)
    1.0
    """
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return math.nan
    pooled = ((na - 1) * np.var(a, ddof=1) + (nb - 1) * np.var(b, ddof=1)) / (na + nb - 2)
    return float((np.mean(a) - np.mean(b)) / math.sqrt(pooled)) if pooled > 0 else math.nan


def by_group(groups: np.ndarray, p: np.ndarray, approve_below: float, reference: str, min_rows: int, excluded: tuple[str, ...] = (), y: np.ndarray | None = None) -> dict[str, Any]:
    """Return the disparity figures of one attribute.

    Parameters
    ----------
    groups : numpy.ndarray
        ``[n]`` category of each row ("" = unknown: not counted).
    p : numpy.ndarray
        ``[n]`` P(default) of each row.
    approve_below : float
        A row is approved when ``p < approve_below`` (DECISION_REVIEW_AT).
    reference : str
        The reference group.
    min_rows : int
        Fewest rows a group (and the reference) needs for an AIR/SMD.
    excluded : tuple of str, optional
        Categories counted but never compared (not provided).
    y : numpy.ndarray, optional
        0/1 outcomes: adds each group's default rate among the approved.

    Returns
    -------
    dict
        ``reference``, ``groups`` (per group: rows, approved, approval_rate, air, smd, mean_score,
        default_rate_approved), ``min_air`` and ``min_air_group`` over the compared groups (None when none).

    Examples
    --------
    >>> g = np.array(["A"] * 4 + ["B"] * 4, dtype=object)
    >>> p = np.array([0.1, 0.1, 0.1, 0.5, 0.1, 0.5, 0.5, 0.5])
    >>> r = by_group(g, p, 0.3, "A", 2)
    >>> r["groups"]["B"]["air"], r["min_air_group"]
    (0.3333333333333333, 'B')
    """
    groups = np.asarray(groups, dtype=object)
    approved = np.asarray(p) < approve_below
    ref = groups == reference
    ref_rate = float(approved[ref].mean()) if ref.sum() else math.nan
    out: dict[str, Any] = {}
    for g in sorted({str(v) for v in groups if v != ""}):
        m = groups == g
        n = int(m.sum())
        compared = g != reference and g not in excluded and n >= min_rows and int(ref.sum()) >= min_rows and ref_rate > 0
        rate = float(approved[m].mean())
        row: dict[str, Any] = {
            "rows": n,
            "approved": int(approved[m].sum()),
            "approval_rate": rate,
            "mean_score": float(np.mean(p[m])),
            "air": rate / ref_rate if compared else None,
            "smd": smd(p[m], p[ref]) if compared else None,
        }
        if y is not None:
            a = m & approved
            row["default_rate_approved"] = float(np.asarray(y)[a].mean()) if a.any() else None
        out[g] = row
    compared_airs = {g: r["air"] for g, r in out.items() if r["air"] is not None}
    worst = min(compared_airs, key=lambda g: compared_airs[g]) if compared_airs else None
    return {
        "reference": reference,
        "approve_below": approve_below,
        "groups": out,
        "min_air": compared_airs[worst] if worst else None,
        "min_air_group": worst,
        "max_smd": max((r["smd"] for r in out.values() if r["smd"] is not None and not math.isnan(r["smd"])), default=None),
    }


def disparity(columns: Mapping[str, np.ndarray], p: np.ndarray, approve_below: float, references: Mapping[str, str], min_rows: int, excluded: Mapping[str, tuple[str, ...]], y: np.ndarray | None = None) -> dict[str, Any]:
    """Return :func:`by_group` for every attribute in ``columns`` (attribute -> figures)."""
    return {name: by_group(groups, p, approve_below, references[name], min_rows, excluded.get(name, ()), y) for name, groups in columns.items()}
