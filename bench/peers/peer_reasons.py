"""Adverse-action reasons the way a Python shop computes them: XGBoost's own ``pred_contribs``.

Peer A with reasons (``PEER_REASONS=1``) explains each REVIEW/DECLINE row with the bundle's native XGBoost
model (``booster.ubj``): the features whose contribution to the margin is positive, largest first, at most
``REASONS_MAX``, mapped to ``schemas/reason-codes.json`` by direction - the same rule as the scorer's
``services/scorer/explain/reasons.ts`` (a monotone feature's constraint direction, else the side of the
training median of the metadata's reference sample; no age reason for an applicant aged 62 or more).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb


class PeerReasons:
    """Reason codes from XGBoost's ``predict(pred_contribs=True)`` on the bundle's booster.

    Parameters
    ----------
    model_dir : pathlib.Path
        The bundle (``booster.ubj``, ``metadata.json``).
    catalogue_path : pathlib.Path
        ``schemas/reason-codes.json``.
    features : list of str
        The model's input order.
    max_reasons : int
        At most this many reasons per decision.
    """

    def __init__(self, model_dir: Path, catalogue_path: Path, features: list[str], max_reasons: int) -> None:
        self.booster = xgb.Booster(model_file=str(model_dir / "booster.ubj"))
        self.booster.set_param({"nthread": 1})
        meta = json.loads((model_dir / "metadata.json").read_text())
        constraints = meta.get("training", {}).get("monotone_constraints", {}) or {}
        reference = meta.get("reference", {}).get("features", {})
        self.features = features
        self.monotone = [int(np.sign(float(constraints.get(f, 0)))) for f in features]
        self.median = [float(np.median(reference[f].get("sample") or reference[f]["edges"])) for f in features]
        catalogue = json.loads(catalogue_path.read_text())
        retired = {r["code"] if isinstance(r, dict) else r for r in catalogue.get("retired", [])}
        self.entries = {(r["feature"], r["direction"]): r for r in catalogue["reasons"] if r["code"] not in retired}
        self.max_reasons = max_reasons
        # Regulation B: no age reason for an elderly applicant (schemas/population.json fair_lending.elderly).
        elderly = json.loads((catalogue_path.parent / "population.json").read_text()).get("fair_lending", {}).get("elderly")
        self.elderly = (features.index(elderly["feature"]), float(elderly["from"])) if elderly else None

    def explain(self, X: np.ndarray) -> list[list[dict[str, Any]]]:
        """Return the reasons of each row of ``X`` (float32-compatible feature matrix)."""
        if len(X) == 0:
            return []
        contribs = self.booster.predict(xgb.DMatrix(X.astype(np.float32), feature_names=self.features), pred_contribs=True)
        out: list[list[dict[str, Any]]] = []
        for row, c in zip(X.tolist(), contribs.tolist()):
            order = sorted((j for j in range(len(self.features)) if c[j] > 0), key=lambda j: (-c[j], j))
            reasons: list[dict[str, Any]] = []
            for j in order:
                if len(reasons) >= self.max_reasons:
                    break
                if self.elderly and j == self.elderly[0] and row[j] >= self.elderly[1]:
                    continue
                m = self.monotone[j]
                direction = ("high" if m > 0 else "low") if m != 0 else ("high" if row[j] >= self.median[j] else "low")
                entry = self.entries.get((self.features[j], direction))
                if entry:
                    reasons.append({"code": entry["code"], "feature": self.features[j], "text": entry["text"], "contribution": c[j]})
            out.append(reasons)
        return out
