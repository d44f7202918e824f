"""ModelUpdate values (``schemas/model-update.avsc``) and the local ``champion.json`` record."""

from __future__ import annotations

import getpass
import math
import socket
from collections.abc import Mapping
from typing import Any

ACTIONS = ("PROMOTE", "ROLLBACK")
HISTORY_LIMIT = 50


def announcer() -> str:
    """Return who announces: ``user@host (pipeline)``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} (pipeline)"


def model_update(name: str, version: str, artifact_uri: str, sha256: str, action: str, previous_version: str | None, metrics: Mapping[str, Any], reason: str, announced_at_ms: int, announced_by: str, approval: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return a ModelUpdate value; ``metrics`` keeps finite numbers only (the schema's map<double>).

    Examples
    --------
    >>> v = model_update("m", "2", "models/m/2", "ab" * 32, "PROMOTE", "1", {"roc_auc": 0.8, "note": "x"}, "", 5, "me")
    >>> v["metrics"], v["previous_version"], v["action"]
    ({'roc_auc': 0.8}, '1', 'PROMOTE')
    """
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")
    numbers = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
    return {
        "model_name": name,
        "version": version,
        "artifact_uri": artifact_uri,
        "sha256": sha256,
        "action": action,
        "previous_version": previous_version,
        "metrics": numbers,
        "reason": reason,
        "announced_at": int(announced_at_ms),
        "announced_by": announced_by,
        "approval": None if approval is None else dict(approval),
    }


def champion_record(update: Mapping[str, Any], previous_record: Mapping[str, Any] | None, topic: str, partition: int, offset: int) -> dict[str, Any]:
    """Return the new ``champion.json``: the announced value, where it was published, and the history.

    Examples
    --------
    >>> first = champion_record({"version": "2"}, None, "t", 0, 7)
    >>> second = champion_record({"version": "3"}, first, "t", 0, 8)
    >>> second["version"], [h["version"] for h in second["history"]], second["published"]["offset"]
    ('3', ['2', '3'], 8)
    """
    history = list((previous_record or {}).get("history", []))
    entry = {**dict(update), "published": {"topic": topic, "partition": partition, "offset": offset}}
    history.append(entry)
    return {**entry, "history": history[-HISTORY_LIMIT:]}
