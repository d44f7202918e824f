"""The gate's fair-lending evaluation of a candidate: the elderly-age rule and disparate impact on the holdout.

Both are checks of the gate (``pipeline/retrain/gate_rules.py`` renders them): a candidate that raises
P(default) with age from 62 on, or whose adverse impact ratio on the holdout falls below the floor or
clearly below the champion's, is refused. docs/fairness.md explains the figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xgboost import XGBClassifier

from pipeline.fairness import elderly
from pipeline.fairness.disparity import disparity
from pipeline.fairness.groups import MISSING, GroupTable
from pipeline.model.classifier import predict_default, split_thresholds
from pipeline.population.demographics import attributes
from pipeline.population.synthetic import load_spec
from pipeline.retrain.params import FairnessParams

ELDERLY_GATE_ROWS = 300
"""Holdout rows the gate varies along age (the export re-checks the ONNX bytes on more)."""


def elderly_on_model(model: XGBClassifier, X_holdout: np.ndarray, names: list[str], seed: int) -> elderly.ElderlyCheck:
    """Check the elderly-age rule on the candidate's XGBoost model over a seeded sample of holdout rows.

    Parameters
    ----------
    model : xgboost.XGBClassifier
        The candidate.
    X_holdout : numpy.ndarray
        Holdout features.
    names : list of str
        Feature names in column order.
    seed : int
        Seeds the choice of rows.

    Returns
    -------
    pipeline.fairness.elderly.ElderlyCheck
    """
    rule = elderly.rule()
    rng = np.random.default_rng(seed)
    rows = X_holdout[np.sort(rng.choice(len(X_holdout), size=min(ELDERLY_GATE_ROWS, len(X_holdout)), replace=False))]
    thresholds = split_thresholds(model, names.index(rule.feature))
    return elderly.check(lambda Z: predict_default(model, Z), rows, names, rule, thresholds)


def attribute_settings(params: FairnessParams) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Return each attribute's reference group (``gate.fairness.references``, checked by ``params.check``, over the spec's) and excluded categories.

    Examples
    --------
    >>> attribute_settings(FairnessParams(references={"sex": "FEMALE"}))
    ({'race_ethnicity': 'WHITE', 'sex': 'FEMALE'}, {'race_ethnicity': ('NOT_PROVIDED',), 'sex': ('NOT_PROVIDED',)})
    """
    attrs = attributes(load_spec())
    references = {a.name: params.references.get(a.name, a.reference) for a in attrs}
    return references, {a.name: (a.not_provided,) if a.not_provided else () for a in attrs}


def holdout_disparity(groups: GroupTable, ids: np.ndarray, p: np.ndarray, y: np.ndarray, params: FairnessParams) -> dict[str, Any]:
    """Return the disparity figures (:func:`pipeline.fairness.disparity.disparity`) of holdout scores ``p``.

    Parameters
    ----------
    groups : GroupTable
        Group membership from the extract stage (joined here by application id, never a training column).
    ids, p, y : numpy.ndarray
        Holdout application ids, scores and outcomes.
    params : FairnessParams
        Threshold, minimum rows and references.

    Returns
    -------
    dict
        ``{"joined": rows with a group row, "attributes": {attribute: figures}}``.
    """
    references, excluded = attribute_settings(params)
    columns = {name: values for name, values in groups.aligned(ids).items() if name in references}
    joined = int(sum(1 for k in range(len(ids)) if any(columns[n][k] != MISSING for n in columns))) if columns else 0
    return {"joined": joined, "attributes": disparity(columns, p, params.approve_below, references, params.min_group_rows, excluded, y)}


def fairness_metrics(report: dict[str, Any]) -> dict[str, float]:
    """Return the MLflow metrics of a gate report's fair-lending figures.

    ``elderly_age_violations``; per attribute ``fairness_<attribute>_min_air`` and per compared group
    ``fairness_<attribute>_<group>_air`` / ``_smd`` / ``_approval_rate``.

    Examples
    --------
    >>> r = {"elderly_age_check": {"violations": 0}, "fairness": {"attributes": {"sex": {"min_air": 0.9, "groups": {
    ...     "F": {"air": 0.9, "smd": 0.1, "approval_rate": 0.72}, "M": {"air": None, "smd": None, "approval_rate": 0.8}}}}}}
    >>> sorted(fairness_metrics(r).items())[:3]
    [('elderly_age_violations', 0.0), ('fairness_sex_F_air', 0.9), ('fairness_sex_F_approval_rate', 0.72)]
    """
    out: dict[str, float] = {}
    if report.get("elderly_age_check"):
        out["elderly_age_violations"] = float(report["elderly_age_check"]["violations"])
    for name, figures in ((report.get("fairness") or {}).get("attributes") or {}).items():
        if figures.get("min_air") is not None:
            out[f"fairness_{name}_min_air"] = float(figures["min_air"])
        for group, row in figures["groups"].items():
            out[f"fairness_{name}_{group}_approval_rate"] = float(row["approval_rate"])
            for key in ("air", "smd"):
                if row.get(key) is not None and np.isfinite(row[key]):
                    out[f"fairness_{name}_{group}_{key}"] = float(row[key])
    return out
