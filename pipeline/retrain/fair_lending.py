"""The gate's fair-lending evaluation of a candidate: the elderly-age rule and disparate impact on the holdout.

Both are checks of the gate (``pipeline/retrain/gate_rules.py`` renders them): a candidate that raises
P(default) with age from 62 on, or whose adverse impact ratio on the holdout falls below the floor or
clearly below the champion's, is refused. docs/fairness.md explains the figures.
"""

from __future__ import annotations

import numpy as np
from xgboost import XGBClassifier

from pipeline.fairness import elderly
from pipeline.model.classifier import predict_default, split_thresholds

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
