"""Train the initial credit-default classifier on the synthetic population.

Usage (from the repository root)::

    python -m pipeline.train_initial --out models/credit-default-classifier/1 [--rows 50000] [--seed 42]

Generates ``--rows`` applicants (:mod:`pipeline.population.synthetic`), splits them by
``submitted_at`` (the latest ``--holdout-fraction`` is the holdout), fits the XGBoost
classifier with the population's monotone constraints and the fair-lending ones (:func:`pipeline.model.classifier.constraints_for`; non-increasing in age, docs/fairness.md) and writes the
bundle with :func:`pipeline.model.bundle.write_bundle` - ONNX, refused unless onnxruntime and XGBoost agree
within 1e-6 on the holdout; ``model.onnx``, ``golden.json`` and (last) ``metadata.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from xgboost import XGBClassifier

from pipeline.artifacts import data_sha256, iso_utc, sha256_bytes
from pipeline.retrain.layout import MODEL_NAME
from pipeline.explain import bundle_hooks
from pipeline.model.bundle import Artefact, BundleInput, GoldenFields, write_bundle
from pipeline.population.features import feature_names
from pipeline.model.metrics import classification_metrics
from pipeline.model.classifier import XGB_PARAMS, constraints_for, fit, predict_default, time_split
from pipeline.paths import POPULATION_SPEC
from pipeline.fairness.groups import GroupTable
from pipeline.population.demographics import demographics_for
from pipeline.population.synthetic import Population, generate, load_spec
from pipeline.retrain.fair_lending import holdout_disparity
from pipeline.retrain.params import FairnessParams


class TrainingResult(NamedTuple):
    """What :func:`train` produced, for callers (and tests) that check it further.

    Attributes
    ----------
    metadata : dict
        The content of ``metadata.json``.
    model : xgboost.XGBClassifier
        The fitted classifier.
    population : pipeline.population.Population
        All generated rows (train + holdout).
    train_idx, holdout_idx : numpy.ndarray
        Row indices of the time-ordered split.
    """

    metadata: dict[str, Any]
    model: XGBClassifier
    population: Population
    train_idx: np.ndarray
    holdout_idx: np.ndarray


def train(out: Path, rows: int = 50_000, seed: int = 42, version: str | None = None, holdout_fraction: float = 0.2, extras: Sequence[Artefact] = (), golden_fields: Sequence[GoldenFields] = ()) -> TrainingResult:
    """Run the whole initial training and write the artifacts into ``out``.

    Parameters
    ----------
    out : pathlib.Path
        Output directory (created if missing).
    rows : int, optional
        Applicants generated in total (train + holdout).
    seed : int, optional
        Seed of the data, the model and the reference samples.
    version : str, optional
        Model version; defaults to the name of ``out``.
    holdout_fraction : float, optional
        Latest share of rows held out for metrics and parity.
    extras, golden_fields : optional
        Further files of the bundle and fields of ``golden.json`` (:func:`pipeline.model.bundle.write_bundle`).

    Returns
    -------
    TrainingResult
        The metadata written to ``metadata.json``, the model and the data.

    Raises
    ------
    pipeline.model.onnx_export.ParityError
        If onnxruntime and XGBoost disagree by more than 1e-6 on the holdout.
    """
    names = feature_names()
    population = generate(rows, seed)
    X, probability, y, submitted_at = population
    train_idx, holdout_idx = time_split(submitted_at, holdout_fraction)
    constraints = constraints_for(names, True)
    model = fit(X[train_idx], y[train_idx], seed, constraints)

    p_holdout = predict_default(model, X[holdout_idx])
    metrics = classification_metrics(y[holdout_idx], p_holdout)
    metrics["oracle_roc_auc"] = classification_metrics(y[holdout_idx], probability[holdout_idx])["roc_auc"]
    metrics["default_rate"] = float(y[holdout_idx].mean())
    # Disparate impact on the holdout, from the generated applicants' demographics (never a feature; docs/fairness.md).
    ids = np.array([str(i) for i in range(len(y))], dtype=object)
    groups = GroupTable(ids, demographics_for(X, seed, load_spec()))
    fairness = holdout_disparity(groups, ids[holdout_idx], p_holdout, y[holdout_idx], FairnessParams())
    t_train = submitted_at[train_idx]
    training = {
        "rows": int(len(train_idx)),
        "seed": seed,
        "data_sha256": data_sha256(X[train_idx], y[train_idx], t_train),
        "window": {"from": iso_utc(t_train.min()), "to": iso_utc(t_train.max())},
        "holdout_rows": int(len(holdout_idx)),
        "holdout_window": {"from": iso_utc(submitted_at[holdout_idx].min()), "to": iso_utc(submitted_at[holdout_idx].max())},
        "population_spec_sha256": sha256_bytes(POPULATION_SPEC.read_bytes()),
        "xgboost_params": XGB_PARAMS,
        "monotone_constraints": dict(zip(names, constraints)),
    }
    created_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    bundle = BundleInput(
        name=MODEL_NAME,
        version=version if version is not None else out.name,
        model=model,
        feature_names=names,
        X_train=X[train_idx],
        X_holdout=X[holdout_idx],
        seed=seed,
        training=training,
        metrics=metrics,
        metadata={"created_at": created_at, "fairness": fairness},
    )
    # The explanation artefacts (trees.json, pred_contribs of the golden rows, calibration, model card).
    explain_extras, explain_golden, explain_checks = bundle_hooks(model, names, y[holdout_idx])
    metadata = write_bundle(bundle, out, extras=(*extras, *explain_extras), checks=explain_checks, golden_fields=(*golden_fields, *explain_golden))
    return TrainingResult(metadata, model, population, train_idx, holdout_idx)


def summary(metadata: dict[str, Any], seconds: float) -> str:
    """Return a short human-readable summary of a training run.

    Examples
    --------
    >>> m = {"roc_auc": 0.8, "oracle_roc_auc": 0.82, "pr_auc": 0.5, "brier": 0.12, "ece": 0.01, "default_rate": 0.2}
    >>> meta = {"name": "m", "version": "1", "training": {"rows": 10}, "metrics": m, "parity_max_abs_diff": 1e-7}
    >>> print(summary(meta, 1.0).splitlines()[0])
    m v1: 10 training rows, 1.0s
    """
    m = metadata["metrics"]
    return (
        f"{metadata['name']} v{metadata['version']}: {metadata['training']['rows']} training rows, {seconds:.1f}s\n"
        f"  holdout ROC-AUC {m['roc_auc']:.4f} (oracle {m['oracle_roc_auc']:.4f}), PR-AUC {m['pr_auc']:.4f}, "
        f"Brier {m['brier']:.4f}, ECE {m['ece']:.4f}, default rate {m['default_rate']:.3f}\n"
        f"  ONNX parity max abs diff {metadata['parity_max_abs_diff']:.3g} (<= 1e-6)"
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.train_initial", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output directory, e.g. models/credit-default-classifier/1")
    parser.add_argument("--rows", type=int, default=50_000, help="applicants generated (train + holdout)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--version", default=None, help="model version (default: the name of --out)")
    parser.add_argument("--holdout-fraction", type=float, default=0.2)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    metadata = train(args.out, args.rows, args.seed, args.version, args.holdout_fraction).metadata
    print(summary(metadata, time.perf_counter() - started))
    print(f"  wrote {args.out}/model.onnx, metadata.json, golden.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
