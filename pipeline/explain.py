"""The bundle's explanation artefacts: the trees the scorer explains decisions with, and their parity data.

The scorer computes every decision's per-feature contributions to the raw margin with path-dependent
TreeSHAP (Lundberg et al. 2018, Algorithm 2; services/scorer/explain/treeshap.ts) over the trees of
the model it serves. This module writes what it needs into a bundle:

* ``trees.json`` - a compact form of XGBoost's JSON model: per tree the children, split feature,
  split threshold (go left when ``x < threshold``, float32 as XGBoost compares), default direction for
  a missing value, leaf value and node cover (``sum_hessian``, what TreeSHAP weights the paths with),
  plus the base margin (``logit(base_score)`` for ``binary:logistic``). Its sha256 goes into
  ``metadata.json`` (``trees_sha256``) and the scorer verifies it on load and on every hot swap.
* the golden rows' XGBoost ``pred_contribs`` (the last column is the bias) and margins, added to
  ``golden.json``: the reference the TypeScript parity test holds the scorer to (within 1e-5).
* ``booster.ubj`` - XGBoost's own model (``booster_sha256`` in ``metadata.json``), for explaining with
  XGBoost itself (``predict(pred_contribs=True)``): audits, and the benchmark's Peer A with reasons.

The one bundle writer (:func:`pipeline.model.bundle.write_bundle`) gets them as hooks from
:func:`bundle_hooks` - with the model card (``pipeline.card``) and the holdout calibration table - in both
of its callers (``pipeline.train_initial`` and ``pipeline.stages.export``), so every version carries them.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from xgboost import DMatrix, XGBClassifier

from pipeline.artifacts import sha256_bytes

TREES_FORMAT = "xgboost-trees/v1"


class ExplainError(ValueError):
    """The model cannot be written as trees the scorer explains (unsupported objective, categorical splits)."""


def _base_margin(learner: dict[str, Any]) -> float:
    """The margin the trees add to: ``logit(base_score)`` for ``binary:logistic``."""
    objective = learner["objective"]["name"]
    if objective != "binary:logistic":
        raise ExplainError(f"objective {objective} is not supported (the scorer explains binary:logistic margins)")
    raw = learner["learner_model_param"]["base_score"]
    base_score = float(json.loads(raw)[0]) if raw.startswith("[") else float(raw)
    return math.log(base_score / (1.0 - base_score))


def compact_trees(model: XGBClassifier, feature_names: list[str]) -> dict[str, Any]:
    """Return the compact tree form of ``model`` (the content of ``trees.json``).

    Parameters
    ----------
    model : xgboost.XGBClassifier
        A fitted ``binary:logistic`` classifier with numeric splits only.
    feature_names : list of str
        The model's input order (split indices refer to it).

    Returns
    -------
    dict
        ``format``, ``base_margin``, ``feature_names`` and ``trees``; each tree holds the parallel
        arrays ``left``, ``right`` (-1 for a leaf), ``feature``, ``threshold``, ``default_left``
        (0/1), ``value`` (leaf value, 0 for a split) and ``cover``.

    Raises
    ------
    ExplainError
        For another objective, categorical splits or multi-output leaves.
    """
    learner = json.loads(model.get_booster().save_raw(raw_format="json"))["learner"]
    booster = learner["gradient_booster"]
    if booster.get("name", "gbtree") != "gbtree":
        raise ExplainError(f"booster {booster.get('name')} is not supported (gbtree only)")
    trees = []
    for t in booster["model"]["trees"]:
        if any(st != 0 for st in t["split_type"]) or t["categories"]:
            raise ExplainError("categorical splits are not supported")
        if t["tree_param"].get("size_leaf_vector", "1") not in ("0", "1"):
            raise ExplainError("multi-output leaves are not supported")
        left, right = t["left_children"], t["right_children"]
        leaf = [lc == -1 for lc in left]
        cond = t["split_conditions"]
        trees.append(
            {
                "left": left,
                "right": right,
                "feature": [0 if is_leaf else int(f) for f, is_leaf in zip(t["split_indices"], leaf)],
                "threshold": [0.0 if is_leaf else float(c) for c, is_leaf in zip(cond, leaf)],
                "default_left": [int(d) for d in t["default_left"]],
                "value": [float(c) if is_leaf else 0.0 for c, is_leaf in zip(cond, leaf)],
                "cover": [float(h) for h in t["sum_hessian"]],
            }
        )
    return {"format": TREES_FORMAT, "base_margin": _base_margin(learner), "feature_names": list(feature_names), "trees": trees}


def explain_artifacts(model: XGBClassifier, feature_names: list[str], golden_X: np.ndarray) -> tuple[bytes, dict[str, Any], dict[str, Any]]:
    """Everything a bundle writer adds for explanations.

    Parameters
    ----------
    model : xgboost.XGBClassifier
        The exported model.
    feature_names : list of str
        Its input order.
    golden_X : numpy.ndarray
        The golden rows (float32 values as float64), as written to ``golden.json``.

    Returns
    -------
    tuple
        ``(trees_bytes, golden_fields, metadata_fields)``: the bytes of ``trees.json``; the fields to add
        to ``golden.json`` (``contributions``: XGBoost's ``pred_contribs``, one row of
        ``len(feature_names) + 1`` values with the bias last; ``margins``); the fields to add to
        ``metadata.json`` (``trees_sha256``, ``trees_format``).
    """
    trees = compact_trees(model, feature_names)
    trees_bytes = json.dumps(trees, separators=(",", ":")).encode("utf-8")
    booster = model.get_booster()
    dm = DMatrix(golden_X.astype(np.float32), feature_names=booster.feature_names)
    contribs = booster.predict(dm, pred_contribs=True)
    margins = booster.predict(dm, output_margin=True)
    golden_fields = {"contributions": np.asarray(contribs, dtype=np.float64).tolist(), "margins": np.asarray(margins, dtype=np.float64).tolist()}
    metadata_fields = {"trees_sha256": sha256_bytes(trees_bytes), "trees_format": TREES_FORMAT}
    return trees_bytes, golden_fields, metadata_fields


#: XGBoost's native model file in a bundle (UBJSON), beside the exported ONNX model.
BOOSTER_FILE = "booster.ubj"


def bundle_hooks(model: XGBClassifier, feature_names: list[str], y_holdout: np.ndarray) -> tuple[list[Any], list[Any], list[Any]]:
    """The explanation artefacts as hooks of the one bundle writer (:func:`pipeline.model.bundle.write_bundle`).

    Returns
    -------
    tuple
        ``(extras, golden_fields, checks)``: ``trees.json`` (adds ``trees_sha256``/``trees_format``) and the
        model card (``model-card.md``, ``model-card.html``, listed last so they see the whole metadata);
        the golden rows' ``pred_contribs`` and margins; the holdout calibration table (``calibration``).
    """
    from pipeline.card import calibration_table, render_html, render_markdown
    from pipeline.model.bundle import Artefact
    from pipeline.model.classifier import predict_default

    trees_bytes = json.dumps(compact_trees(model, feature_names), separators=(",", ":")).encode("utf-8")
    trees = Artefact("trees.json", lambda _e, _m: trees_bytes, lambda _e, data: {"trees_sha256": sha256_bytes(data), "trees_format": TREES_FORMAT})

    def card_md(_e: Any, metadata: dict[str, Any]) -> bytes:
        return render_markdown(dict(metadata)).encode("utf-8")

    def card_html(_e: Any, metadata: dict[str, Any]) -> bytes:
        return render_html(render_markdown(dict(metadata))).encode("utf-8")

    def golden_contribs(exported: Any) -> dict[str, Any]:
        booster = model.get_booster()
        dm = DMatrix(np.asarray(exported.golden_X, dtype=np.float32), feature_names=booster.feature_names)
        return {
            "contributions": np.asarray(booster.predict(dm, pred_contribs=True), dtype=np.float64).tolist(),
            "margins": np.asarray(booster.predict(dm, output_margin=True), dtype=np.float64).tolist(),
        }

    def calibration(exported: Any) -> dict[str, Any]:
        return {"calibration": calibration_table(np.asarray(y_holdout), predict_default(model, exported.input.X_holdout))}

    # XGBoost's own model (UBJSON): what a Python consumer explains with XGBoost itself (predict with
    # pred_contribs=True), e.g. the benchmark's Peer A with reasons, or an auditor checking trees.json.
    booster_bytes = bytes(model.get_booster().save_raw(raw_format="ubj"))
    booster = Artefact(BOOSTER_FILE, lambda _e, _m: booster_bytes, lambda _e, data: {"booster_sha256": sha256_bytes(data)})
    return [trees, booster, Artefact("model-card.md", card_md), Artefact("model-card.html", card_html)], [golden_contribs], [calibration]
