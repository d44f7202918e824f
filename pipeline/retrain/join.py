"""The training set of a retrain: scoring-log features joined with loan-outcome labels over a window."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from pipeline.retrain.dataset import parse_time

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_bound(text: str | None, now_ms: int) -> int | None:
    """Return a window bound in epoch ms from ISO-8601, epoch ms, or a duration before ``now_ms``.

    Parameters
    ----------
    text : str or None
        ``'2026-01-01T00:00:00Z'``, ``'1767225600000'``, or ``'30d'`` / ``'12h'`` / ``'90m'``
        (that long before now); ``None`` or ``''`` for an open bound.
    now_ms : int
        The current time in epoch ms.

    Returns
    -------
    int or None

    Examples
    --------
    >>> parse_bound("2d", now_ms=3 * 86_400_000), parse_bound(None, 0), parse_bound("1970-01-01T00:00:02Z", 0)
    (86400000, None, 2000)
    """
    if text is None or str(text).strip() == "":
        return None
    match = _RELATIVE.match(str(text).strip())
    if match:
        return now_ms - int(float(match.group(1)) * _UNIT_MS[match.group(2)])
    return parse_time(text)


class JoinStats(NamedTuple):
    """Counts of what the join saw and kept."""

    scoring_log_records: int
    outside_window: int
    duplicate_scorings: int
    outcome_records: int
    joined: int
    without_outcome: int

    def as_dict(self) -> dict[str, int]:
        """Return the counts by name."""
        return self._asdict()


def join(log_records: Iterable[Mapping[str, Any]], outcome_records: Iterable[Mapping[str, Any]], since_ms: int | None = None, until_ms: int | None = None) -> tuple[list[dict[str, Any]], JoinStats]:
    """Join scoring-log records with outcomes by ``application_id``.

    Each application's first scoring-log record is kept (a later one - a re-scoring - is counted
    as a duplicate); its ``submitted_at`` must lie in ``[since_ms, until_ms)``. Its label is the
    outcome with the latest ``observed_at`` for that application; applications without an outcome
    yet are left out (counted). Features are taken from the log record's ``features`` map.

    Parameters
    ----------
    log_records : iterable of mapping
        Decoded ScoringLogRecord values, in log (offset) order.
    outcome_records : iterable of mapping
        Decoded LoanOutcome values.
    since_ms, until_ms : int, optional
        Window on ``submitted_at``; open when ``None``.

    Returns
    -------
    tuple of (list of dict, JoinStats)
        Rows ``{application_id, submitted_at, features, defaulted}`` for
        :func:`pipeline.retrain.dataset.from_records`, and the counts.

    Examples
    --------
    >>> logs = [{"application_id": "a", "submitted_at": 10, "features": {"x": 1.0}},
    ...         {"application_id": "b", "submitted_at": 20, "features": {"x": 2.0}},
    ...         {"application_id": "a", "submitted_at": 10, "features": {"x": 9.0}},
    ...         {"application_id": "c", "submitted_at": 99, "features": {"x": 3.0}}]
    >>> outcomes = [{"application_id": "a", "defaulted": False, "observed_at": 1},
    ...             {"application_id": "a", "defaulted": True, "observed_at": 2}]
    >>> rows, stats = join(logs, outcomes, until_ms=50)
    >>> rows
    [{'application_id': 'a', 'submitted_at': 10, 'features': {'x': 1.0}, 'defaulted': 1}]
    >>> stats.duplicate_scorings, stats.outside_window, stats.without_outcome
    (1, 1, 1)
    """
    labels: dict[str, tuple[int, int]] = {}
    n_outcomes = 0
    for outcome in outcome_records:
        n_outcomes += 1
        app_id, observed = str(outcome["application_id"]), int(outcome["observed_at"])
        current = labels.get(app_id)
        if current is None or observed >= current[0]:
            labels[app_id] = (observed, int(bool(outcome["defaulted"])))
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    n_logs = outside = duplicates = unlabelled = 0
    for record in log_records:
        n_logs += 1
        app_id, t = str(record["application_id"]), int(record["submitted_at"])
        if app_id in seen:
            duplicates += 1
            continue
        seen.add(app_id)
        if (since_ms is not None and t < since_ms) or (until_ms is not None and t >= until_ms):
            outside += 1
            continue
        label = labels.get(app_id)
        if label is None:
            unlabelled += 1
            continue
        rows.append({"application_id": app_id, "submitted_at": t, "features": dict(record["features"]), "defaulted": label[1]})
    return rows, JoinStats(n_logs, outside, duplicates, n_outcomes, len(rows), unlabelled)
