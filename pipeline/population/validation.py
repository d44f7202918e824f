"""Validation rules of a loan application (mirrors the scorer's validator, services/scorer/validate.ts).

Rules: every value finite; ``age`` an integer in [18, 120]; ``annual_income`` > 0;
``debt_to_income_ratio`` in [0, 10]; ``credit_history_length`` an integer in
[0, age - 18]; ``num_open_accounts`` and ``num_late_payments`` integers >= 0;
``loan_amount`` > 0. Sanity bounds from ``schemas/input-bounds.json`` (each overridable by its
environment variable): ``annual_income`` <= ``MAX_ANNUAL_INCOME``, ``loan_amount`` <=
``MAX_LOAN_AMOUNT``, ``num_open_accounts`` <= ``MAX_OPEN_ACCOUNTS``, ``num_late_payments`` <=
``MAX_LATE_PAYMENTS``; ``submitted_at`` in [``SUBMITTED_AT_EARLIEST``, now + ``SUBMITTED_AT_MAX_SKEW``].
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from pipeline.errors import PipelineError
from pipeline.paths import SCHEMAS_DIR

INPUT_BOUNDS_FILE = SCHEMAS_DIR / "input-bounds.json"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration_ms(raw: str) -> int | None:
    """Parse ``"250ms"``, ``"30s"``, ``"5m"``, ``"1h"``, ``"7d"`` or bare milliseconds (as the services do).

    Examples
    --------
    >>> parse_duration_ms("5m"), parse_duration_ms("1500"), parse_duration_ms("soon")
    (300000, 1500, None)
    """
    m = _DURATION.match(raw.strip())
    if not m:
        return None
    return round(float(m.group(1)) * _UNIT_MS[m.group(2) or "ms"])


def parse_instant_ms(raw: str) -> int | None:
    """Parse an ISO-8601 date or instant (UTC unless it says otherwise) to epoch milliseconds.

    Examples
    --------
    >>> parse_instant_ms("2000-01-01"), parse_instant_ms("2000-01-01T00:00:00Z"), parse_instant_ms("x")
    (946684800000, 946684800000, None)
    """
    text = raw.strip()
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return int(t.timestamp() * 1000)


@dataclass(frozen=True)
class InputBounds:
    """Sanity bounds of an application (``schemas/input-bounds.json`` with env overrides).

    Attributes
    ----------
    earliest_submitted_at_ms : int
        Earliest acceptable ``submitted_at``.
    max_skew_ms : int
        How far past the processing clock a ``submitted_at`` may lie.
    feature_max : Mapping[str, float]
        Inclusive upper bound per feature.
    """

    earliest_submitted_at_ms: int
    max_skew_ms: int
    feature_max: Mapping[str, float] = field(default_factory=dict)


def input_bounds(env: Mapping[str, str] | None = None) -> InputBounds:
    """Return the bounds of ``schemas/input-bounds.json``, each overridden by its variable in ``env``.

    Raises
    ------
    PipelineError
        ``CONFIG_INVALID`` naming the variable whose value is not a date, duration or number >= 0.

    Examples
    --------
    >>> b = input_bounds({"MAX_LATE_PAYMENTS": "50"})
    >>> b.max_skew_ms, b.feature_max["num_late_payments"], b.feature_max["annual_income"]
    (300000, 50.0, 100000000.0)
    """
    env = os.environ if env is None else env
    spec = json.loads(INPUT_BOUNDS_FILE.read_text(encoding="utf-8"))

    def raw(entry: Mapping[str, object]) -> str:
        return env.get(str(entry["env"])) or str(entry["default"])

    earliest_entry, skew_entry = spec["submittedAt"]["earliest"], spec["submittedAt"]["maxSkew"]
    earliest = parse_instant_ms(raw(earliest_entry))
    if earliest is None:
        raise PipelineError("CONFIG_INVALID", f"{earliest_entry['env']} must be an ISO-8601 date or instant, got {raw(earliest_entry)!r}")
    skew = parse_duration_ms(raw(skew_entry))
    if skew is None:
        raise PipelineError("CONFIG_INVALID", f"{skew_entry['env']} must be a duration like 30s or 5m, got {raw(skew_entry)!r}")
    maxima: dict[str, float] = {}
    for feature, entry in spec["featureMax"].items():
        try:
            value = float(raw(entry))
        except ValueError:
            value = float("nan")
        if not np.isfinite(value) or value < 0:
            raise PipelineError("CONFIG_INVALID", f"{entry['env']} must be a number >= 0, got {raw(entry)!r}")
        maxima[feature] = value
    return InputBounds(earliest_submitted_at_ms=earliest, max_skew_ms=skew, feature_max=maxima)


DEFAULT_BOUNDS = input_bounds({})
"""The bounds with the file's defaults (no environment)."""


RULE_FIELDS = {
    "age int in [18, 120]": "age",
    "annual_income > 0": "annual_income",
    "debt_to_income_ratio in [0, 10]": "debt_to_income_ratio",
    "credit_history_length int in [0, age-18]": "credit_history_length",
    "num_open_accounts int >= 0": "num_open_accounts",
    "num_late_payments int >= 0": "num_late_payments",
    "loan_amount > 0": "loan_amount",
    "annual_income <= MAX_ANNUAL_INCOME": "annual_income",
    "loan_amount <= MAX_LOAN_AMOUNT": "loan_amount",
    "num_open_accounts <= MAX_OPEN_ACCOUNTS": "num_open_accounts",
    "num_late_payments <= MAX_LATE_PAYMENTS": "num_late_payments",
}
"""The field each feature rule of :func:`rule_violations` is about (``all finite`` is about every non-finite field)."""

TIME_RULE_FIELDS = {
    "submitted_at >= SUBMITTED_AT_EARLIEST": "submitted_at",
    "submitted_at <= now + SUBMITTED_AT_MAX_SKEW": "submitted_at",
}
"""The field each rule of :func:`submitted_at_violations` is about."""


def rule_violations(X: np.ndarray, names: list[str], bounds: InputBounds = DEFAULT_BOUNDS) -> dict[str, np.ndarray]:
    """Return, for each rule, a boolean mask of the rows that break it.

    Parameters
    ----------
    X : numpy.ndarray
        ``[n, n_features]`` feature matrix.
    names : list of str
        Column names of ``X``.
    bounds : InputBounds, optional
        Sanity maxima (default: ``schemas/input-bounds.json``).

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

    top = bounds.feature_max
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
            "annual_income <= MAX_ANNUAL_INCOME": col["annual_income"] > top["annual_income"],
            "loan_amount <= MAX_LOAN_AMOUNT": col["loan_amount"] > top["loan_amount"],
            "num_open_accounts <= MAX_OPEN_ACCOUNTS": col["num_open_accounts"] > top["num_open_accounts"],
            "num_late_payments <= MAX_LATE_PAYMENTS": col["num_late_payments"] > top["num_late_payments"],
        }


def submitted_at_violations(submitted_at_ms: np.ndarray, now_ms: int, bounds: InputBounds = DEFAULT_BOUNDS) -> dict[str, np.ndarray]:
    """Return, for each time rule, a boolean mask of the ``submitted_at`` values that break it.

    Parameters
    ----------
    submitted_at_ms : numpy.ndarray
        ``[n]`` epoch milliseconds (int64 or float).
    now_ms : int
        The processing clock, epoch milliseconds.
    bounds : InputBounds, optional
        Earliest date and skew allowance (default: ``schemas/input-bounds.json``).

    Returns
    -------
    dict of str to numpy.ndarray
        Rule description to ``[n]`` boolean mask (True = broken).

    Examples
    --------
    >>> import numpy as np
    >>> now = 1_764_590_400_000  # 2025-12-01T12:00:00Z
    >>> ts = np.array([now, now + 300_001, 31_536_000_000], dtype=np.int64)  # now, beyond skew, 1971
    >>> {rule: mask.tolist() for rule, mask in submitted_at_violations(ts, now).items()}
    {'submitted_at >= SUBMITTED_AT_EARLIEST': [False, False, True], 'submitted_at <= now + SUBMITTED_AT_MAX_SKEW': [False, True, False]}
    """
    ts = np.asarray(submitted_at_ms)
    return {
        "submitted_at >= SUBMITTED_AT_EARLIEST": ~(ts >= bounds.earliest_submitted_at_ms),
        "submitted_at <= now + SUBMITTED_AT_MAX_SKEW": ~(ts <= now_ms + bounds.max_skew_ms),
    }


def invalid_rows(X: np.ndarray, names: list[str], bounds: InputBounds = DEFAULT_BOUNDS) -> np.ndarray:
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
    masks = list(rule_violations(X, names, bounds).values())
    return np.logical_or.reduce(masks) if masks else np.zeros(len(X), dtype=bool)
