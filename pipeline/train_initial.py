"""Train the initial credit-default classifier on the synthetic population.

Usage (from the repository root)::

    python -m pipeline.train_initial --out models/credit-default-classifier/1 [--rows 50000] [--seed 42]

Generates ``--rows`` applicants (:mod:`pipeline.population`), splits them by
``submitted_at`` (the latest ``--holdout-fraction`` is the holdout), fits the XGBoost
classifier with the population's monotone constraints, exports ONNX, fails unless
onnxruntime and XGBoost agree within 1e-6 on the holdout, and writes
``model.onnx``, ``golden.json`` and (last) ``metadata.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from xgboost import XGBClassifier

from pipeline.card import calibration_table, write_card
from pipeline.explain import explain_artifacts
from pipeline.artifacts import data_sha256, iso_utc, sha256_bytes, write_bytes_atomic, write_json_atomic
from pipeline.features import feature_names
from pipeline.metrics import classification_metrics
from pipeline.model import XGB_PARAMS, monotone_constraints, predict_default, train_classifier
from pipeline.onnx_export import assert_parity, parity_max_abs_diff, signature_metadata, to_onnx
from pipeline.paths import POPULATION_SPEC
from pipeline.population import Population, generate, load_spec
from pipeline.reference import reference_distribution

MODEL_NAME = "credit-default-classifier"
GOLDEN_ROWS = 200
BINNING_DOC = (
    "edges: sorted unique inverted_cdf 10%..90% quantiles of the training values (9 edges, fewer when a "
    "discrete feature repeats quantiles); bin index = number of edges <= x (bisect_right), so there are "
    "len(edges)+1 bins: bin 0 is x < edges[0], bin i is edges[i-1] <= x < edges[i], the last is x >= edges[-1]; "
    "proportions are over finite training values, one per bin"
)


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


def time_split(submitted_at: np.ndarray, holdout_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Split row indices by event time: earliest rows train, latest rows are the holdout.

    Parameters
    ----------
    submitted_at : numpy.ndarray
        Event times of the rows.
    holdout_fraction : float
        Share of rows, in (0, 1), that go to the holdout.

    Returns
    -------
    tuple of numpy.ndarray
        ``(train_idx, holdout_idx)``; every training time is <= every holdout time.

    Examples
    --------
    >>> [a.tolist() for a in time_split(np.array([5, 1, 4, 2, 3]), 0.4)]
    [[1, 3, 4], [2, 0]]
    """
    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
    order = np.argsort(submitted_at, kind="stable")
    n_train = int(round(len(order) * (1.0 - holdout_fraction)))
    return order[:n_train], order[n_train:]


def train(out: Path, rows: int = 50_000, seed: int = 42, version: str | None = None, holdout_fraction: float = 0.2) -> TrainingResult:
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

    Returns
    -------
    TrainingResult
        The metadata written to ``metadata.json``, the model and the data.

    Raises
    ------
    pipeline.onnx_export.ParityError
        If onnxruntime and XGBoost disagree by more than 1e-6 on the holdout.
    """
    names = feature_names()
    spec = load_spec()
    population = generate(rows, seed)
    X, probability, y, submitted_at = population
    train_idx, holdout_idx = time_split(submitted_at, holdout_fraction)
    constraints = monotone_constraints(spec["default_model"]["monotone"], names)
    model = train_classifier(X[train_idx], y[train_idx], seed, constraints)

    proto = to_onnx(model, len(names), {"feature_names": json.dumps(names), "name": MODEL_NAME}, name=MODEL_NAME)
    model_bytes = proto.SerializeToString()
    parity = parity_max_abs_diff(model, model_bytes, X[holdout_idx])
    assert_parity(parity)

    p_holdout = predict_default(model, X[holdout_idx])
    metrics = classification_metrics(y[holdout_idx], p_holdout)
    metrics["oracle_roc_auc"] = classification_metrics(y[holdout_idx], probability[holdout_idx])["roc_auc"]
    metrics["default_rate"] = float(y[holdout_idx].mean())

    rng = np.random.default_rng(seed)
    reference = {
        "binning": BINNING_DOC,
        "features": {name: reference_distribution(X[train_idx, i], rng) for i, name in enumerate(names)},
        "score": reference_distribution(predict_default(model, X[train_idx]), rng),
    }
    t_train = submitted_at[train_idx]
    metadata = {
        "name": MODEL_NAME,
        "version": version if version is not None else out.name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        **signature_metadata(proto, model_bytes, names),
        "training": {
            "rows": int(len(train_idx)),
            "seed": seed,
            "data_sha256": data_sha256(X[train_idx], y[train_idx], t_train),
            "window": {"from": iso_utc(t_train.min()), "to": iso_utc(t_train.max())},
            "holdout_rows": int(len(holdout_idx)),
            "holdout_window": {"from": iso_utc(submitted_at[holdout_idx].min()), "to": iso_utc(submitted_at[holdout_idx].max())},
            "population_spec_sha256": sha256_bytes(POPULATION_SPEC.read_bytes()),
            "xgboost_params": XGB_PARAMS,
            "monotone_constraints": dict(zip(names, constraints)),
        },
        "metrics": metrics,
        "parity_max_abs_diff": parity,
        "calibration": calibration_table(y[holdout_idx], p_holdout),
        "reference": reference,
    }
    golden_idx = np.sort(rng.choice(holdout_idx, size=min(GOLDEN_ROWS, len(holdout_idx)), replace=False))
    golden_X = X[golden_idx].astype(np.float32).astype(np.float64)
    golden = {
        "feature_names": names,
        "input_dtype": "float32",
        "rows": golden_X.tolist(),
        "probabilities": predict_default(model, golden_X).tolist(),
    }
    trees_bytes, golden_fields, explain_fields = explain_artifacts(model, names, golden_X)
    golden.update(golden_fields)
    metadata.update(explain_fields)
    out.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out / "model.onnx", model_bytes)
    write_bytes_atomic(out / "trees.json", trees_bytes)
    write_json_atomic(out / "golden.json", golden)
    write_card(out, metadata)
    write_json_atomic(out / "metadata.json", metadata)
    return TrainingResult(metadata, model, population, train_idx, holdout_idx)


def summary(metadata: dict[str, Any], seconds: float) -> str:
    """Return a short human-readable summary of a training run."""
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
