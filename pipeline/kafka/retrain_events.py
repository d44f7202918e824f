"""RETRAIN events on ``drift-alerts``: the drift monitor's requests (``DRIFT_RETRAIN=notify``) and the
retrain worker's outcomes, in the same shape as the drift monitor's in-process loop writes them
(``retrainAlertValue`` in ``services/drift/windows/codec.ts``: action ``retrain``, outcome
``started`` / ``succeeded`` / ``failed`` / ``gave_up``, ``attempt``, the incident's window).
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from pipeline.schemas import record_name

DRIFT_ALERT = record_name("drift-alert")
"""Full Avro record name of ``schemas/drift-alert.avsc``."""


class RetrainRequest(NamedTuple):
    """A drift monitor's request for a retrain: the RETRAIN notice and the window it is about."""

    deployment: str
    incident: int
    targets: tuple[str, ...]
    window_start: int
    window_end: int
    reference_version: str
    alert: dict[str, Any]

    @property
    def key(self) -> str:
        """Identity of the request across re-deliveries: ``<deployment>/<reference>:<incident>``."""
        return f"{self.deployment}/{self.reference_version}:{self.incident}"

    def drift_env(self) -> dict[str, str]:
        """The drift context the retrain's approval records (``pipeline.retrain.approval.automatic``)."""
        return {
            "DRIFT_WINDOW_START": str(self.window_start),
            "DRIFT_WINDOW_END": str(self.window_end),
            "DRIFT_WINDOW_INDEX": str(self.incident),
            "DRIFT_TARGETS": ",".join(self.targets),
            "DRIFT_REFERENCE_VERSION": self.reference_version,
        }


def retrain_request(alert: dict[str, Any], deployment: str | None = None) -> RetrainRequest | None:
    """Return the request in a decoded drift alert, or None when it is not one (for this deployment).

    A request is a RETRAIN event with action ``notify`` and outcome ``notified``; other RETRAIN events
    (the in-process loop's, this worker's own outcomes) and DRIFT/RECOVERY/REFERENCE events are not.

    Examples
    --------
    >>> a = {"kind": "RETRAIN", "action": "notify", "outcome": "notified", "deployment": "d", "window_index": 7,
    ...      "drifting_since_window": 5, "targets": ["score"], "window_start": 0, "window_end": 60000, "reference_version": "1"}
    >>> r = retrain_request(a)
    >>> r.key, r.targets, r.drift_env()["DRIFT_TARGETS"]
    ('d/1:5', ('score',), 'score')
    >>> retrain_request(a, "other") is None, retrain_request({**a, "outcome": "started", "action": "retrain"}) is None
    (True, True)
    """
    if alert.get("kind") != "RETRAIN" or alert.get("action") != "notify" or alert.get("outcome") != "notified":
        return None
    if deployment and alert.get("deployment") != deployment:
        return None
    incident = alert.get("drifting_since_window", -1)
    return RetrainRequest(
        deployment=alert.get("deployment", ""),
        incident=int(incident if incident is not None and incident >= 0 else alert["window_index"]),
        targets=tuple(alert.get("targets") or ()),
        window_start=int(alert["window_start"]),
        window_end=int(alert["window_end"]),
        reference_version=alert.get("reference_version", ""),
        alert=alert,
    )


def outcome_alert(request: RetrainRequest, outcome: str, detail: str, attempt: int, now_ms: int | None = None) -> dict[str, Any]:
    """Return the RETRAIN event recording one outcome of a request (a ``drift-alert`` value).

    Examples
    --------
    >>> a = {"kind": "RETRAIN", "action": "notify", "outcome": "notified", "deployment": "d", "window_index": 7,
    ...      "drifting_since_window": 5, "targets": ["score"], "window_start": 0, "window_end": 60000, "reference_version": "1"}
    >>> v = outcome_alert(retrain_request(a), "started", "python -m pipeline.stages.retrain", 1, now_ms=9)
    >>> v["dedup_key"], v["action"], v["outcome"], v["attempt"], v["emitted_at"]
    ('d/1:*:5:RETRAIN:started:1', 'retrain', 'started', 1, 9)
    """
    base = dict(request.alert)
    base.update(
        dedup_key=f"{request.deployment}/{request.reference_version}:*:{request.incident}:RETRAIN:{outcome}:{attempt}",
        action="retrain",
        outcome=outcome,
        detail=detail[-2000:],
        attempt=attempt,
        emitted_at=int(time.time() * 1000) if now_ms is None else now_ms,
    )
    return base
