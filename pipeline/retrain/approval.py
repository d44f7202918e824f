"""Approval records: who approved a change of champion and why (``schemas/model-update.avsc`` ``approval``).

A person promotes with ``make promote VERSION=... APPROVED_BY=... REASON=...`` (both required); the
retrain loop promotes automatically and records what it rests on: the drift window and targets the
drift monitor passed in its environment (``DRIFT_WINDOW_START`` / ``DRIFT_WINDOW_END`` / ``DRIFT_TARGETS``)
and the gate result against the champion. The record travels on ``model-updates``, is copied to
``model-events`` when a scorer activates the version, and becomes MLflow model-version tags.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from typing import Any

from pipeline.artifacts import iso_utc
from pipeline.errors import PipelineError

MODES = ("MANUAL", "AUTOMATIC")


def manual(approved_by: str | None, reason: str | None, now_ms: int, gate: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return the approval of a person's promotion; refuse without a name and a reason.

    Raises
    ------
    PipelineError
        ``APPROVAL_REQUIRED`` when ``approved_by`` or ``reason`` is missing or blank.

    Examples
    --------
    >>> manual("ana", "Q3 review", 5)["mode"]
    'MANUAL'
    """
    missing = [n for n, v in (("APPROVED_BY (--approved-by)", approved_by), ("REASON (--reason)", reason)) if not (v or "").strip()]
    if missing:
        raise PipelineError("APPROVAL_REQUIRED", f"a change of champion needs an approval: {' and '.join(missing)} missing, e.g. make promote VERSION=3 APPROVED_BY=jane.doe REASON=\"quarterly review\"")
    return {"approved_by": approved_by.strip(), "reason": reason.strip(), "approved_at": int(now_ms), "mode": "MANUAL", "evidence": gate_evidence(gate)}


def gate_evidence(gate: Mapping[str, Any] | None) -> dict[str, str]:
    """The gate result as evidence strings: ``gate`` (passed/failed vs champion vN) and ``gate_checks``.

    Examples
    --------
    >>> gate_evidence({"passed": True, "champion": {"version": "1"}, "checks": [{"name": "auc", "passed": True}]})["gate"]
    'passed against champion v1'
    """
    if not gate:
        return {}
    champion = (gate.get("champion") or {}).get("version")
    verdict = "passed" if gate.get("passed") else "failed"
    return {
        "gate": f"{verdict} against champion v{champion}" if champion else f"{verdict} (no champion)",
        "gate_checks": json.dumps(gate.get("checks", []), sort_keys=True, separators=(",", ":"), default=str),
    }


def automatic(reason: str, now_ms: int, gate: Mapping[str, Any] | None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the approval of the retrain loop's own promotion: the drift window that triggered it and the gate.

    Examples
    --------
    >>> a = automatic("", 5, {"passed": True}, {"DRIFT_WINDOW_START": "0", "DRIFT_WINDOW_END": "60000", "DRIFT_TARGETS": "age"})
    >>> a["mode"], a["evidence"]["drift_window_from"], a["evidence"]["drift_targets"]
    ('AUTOMATIC', '1970-01-01T00:00:00.000Z', 'age')
    """
    env = os.environ if env is None else env
    evidence = gate_evidence(gate)
    drift = ""
    if env.get("DRIFT_WINDOW_START") and env.get("DRIFT_WINDOW_END"):
        evidence["drift_window_from"] = iso_utc(int(env["DRIFT_WINDOW_START"]))
        evidence["drift_window_to"] = iso_utc(int(env["DRIFT_WINDOW_END"]))
        for key, name in (("DRIFT_TARGETS", "drift_targets"), ("DRIFT_WINDOW_INDEX", "drift_window_index"), ("DRIFT_REFERENCE_VERSION", "drift_reference_version")):
            if env.get(key):
                evidence[name] = env[key]
        drift = f"drift in {env.get('DRIFT_TARGETS') or 'the scoring log'} over {evidence['drift_window_from']} .. {evidence['drift_window_to']}"
    text = reason.strip() or (f"retrain loop: {drift}; candidate passed the gate" if drift else "retrain loop: candidate passed the gate")
    return {"approved_by": f"retrain-loop@{socket.gethostname()}", "reason": text, "approved_at": int(now_ms), "mode": "AUTOMATIC", "evidence": evidence}


def tags(approval: Mapping[str, Any]) -> dict[str, str]:
    """MLflow model-version tags of an approval (``approval.*``).

    Examples
    --------
    >>> sorted(tags({"approved_by": "a", "reason": "r", "approved_at": 0, "mode": "MANUAL", "evidence": {"gate": "passed"}}))
    ['approval.approved_at', 'approval.approved_by', 'approval.evidence.gate', 'approval.mode', 'approval.reason']
    """
    out = {f"approval.{k}": str(approval[k]) for k in ("approved_by", "reason", "mode")}
    out["approval.approved_at"] = iso_utc(approval["approved_at"])
    out.update({f"approval.evidence.{k}": str(v)[:5000] for k, v in approval.get("evidence", {}).items()})
    return out
