"""Validation rules of a loan application's features (mirrors the scorer's validator).

Rules: every value finite; ``age`` an integer in [18, 120]; ``annual_income`` > 0;
``debt_to_income_ratio`` in [0, 10]; ``credit_history_length`` an integer in
[0, age - 18]; ``num_open_accounts`` and ``num_late_payments`` integers >= 0;
``loan_amount`` > 0.
"""

from __future__ import annotations

import numpy as np


def rule_violations(X: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """Return, for each rule, a boolean mask of the rows that break it.

    Parameters
    ----------
    X : numpy.ndarray
        ``[n, n_features]`` feature matrix.
    names : list of str
        Column names of ``X``.

    Returns
    -------
    dict of str to numpy.ndarray
        Rule description to ``[n]`` boolean mask (True = broken).

    Examples
    --------
    >>> import numpy as np
    >>> names = ["age", "annual_income", "debt_to_income_ratio", "credit_history_length",
    ...          "num_open_accounts", "num_late_payments", "loan_amount"]
    >>> X = np.array([[30, 5e4, 0.3, 15, 2, 0, 1e4]], dtype=float)
    >>> {rule: bool(mask[0]) for rule, mask in rule_violations(X, names).items() if mask[0]}
    {'credit_history_length int in [0, age-18]': True}
    """
    col = {name: X[:, i] for i, name in enumerate(names)}

    def is_int(v: np.ndarray) -> np.ndarray:
        return np.isfinite(v) & (np.floor(v) == v)

    with np.errstate(invalid="ignore"):
        age, history = col["age"], col["credit_history_length"]
        return {
            "all finite": ~np.isfinite(X).all(axis=1),
            "age int in [18, 120]": ~(is_int(age) & (age >= 18) & (age <= 120)),
            "annual_income > 0": ~(col["annual_income"] > 0),
            "debt_to_income_ratio in [0, 10]": ~((col["debt_to_income_ratio"] >= 0) & (col["debt_to_income_ratio"] <= 10)),
            # history <= age - 18 is not judged when age is NaN (the scorer reports age alone then)
            "credit_history_length int in [0, age-18]": ~(is_int(history) & (history >= 0) & ((history <= age - 18) | np.isnan(age))),
            "num_open_accounts int >= 0": ~(is_int(col["num_open_accounts"]) & (col["num_open_accounts"] >= 0)),
            "num_late_payments int >= 0": ~(is_int(col["num_late_payments"]) & (col["num_late_payments"] >= 0)),
            "loan_amount > 0": ~(col["loan_amount"] > 0),
        }


def invalid_rows(X: np.ndarray, names: list[str]) -> np.ndarray:
    """Return a boolean mask of the rows that break any validation rule.

    Parameters
    ----------
    X : numpy.ndarray
        ``[n, n_features]`` feature matrix.
    names : list of str
        Column names of ``X``.

    Returns
    -------
    numpy.ndarray
        ``[n]`` booleans, True where some rule is broken.
    """
    masks = list(rule_violations(X, names).values())
    return np.logical_or.reduce(masks) if masks else np.zeros(len(X), dtype=bool)
