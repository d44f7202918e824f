"""Train: fit the candidate XGBoost classifier on the time-ordered training part of the dataset.

Reads ``dataset.csv``; the latest ``train.holdout_fraction`` of rows (by ``submitted_at``) is held
out for the gate and never seen here. Fixed seed (``train.seed``), the population spec's monotone
constraints (``train.monotone``), XGBoost parameters ``pipeline.model.XGB_PARAMS`` overridden by
``train.xgboost``. Writes ``model.ubj`` and ``train.json`` (parameters, split, data hashes).

Usage::

    python -m pipeline.stages.train [--dataset pipeline/data/dataset.csv] [--out pipeline/data/train]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from pipeline.model import classifier
from pipeline.artifacts import data_sha256, iso_utc, write_json_atomic
from pipeline.retrain.candidate import INFO_FILE, MODEL_FILE, Candidate, split
from pipeline.retrain.dataset import file_sha256, read_csv
from pipeline.retrain.layout import DATASET_CSV, TRAIN_DIR
from pipeline.retrain.params import TrainParams, replace
from pipeline.population.features import feature_names
from pipeline.stages.common import EXIT_OK, load_params, parser, run


def train(dataset_path: Path, out: Path, params: TrainParams) -> Candidate:
    """Fit the candidate and write ``model.ubj`` + ``train.json`` into ``out``.

    Parameters
    ----------
    dataset_path : pathlib.Path
        ``dataset.csv`` from the extract stage.
    out : pathlib.Path
        Output folder.
    params : TrainParams
        Seed, holdout fraction, monotonicity, XGBoost overrides.

    Returns
    -------
    Candidate
    """
    names = feature_names()
    dataset = read_csv(dataset_path, names)
    train_idx, holdout_idx = split(dataset, params.holdout_fraction)
    xgb_params = classifier.xgboost_params(params.xgboost)
    constraints = classifier.constraints_for(names, params.monotone)
    started = time.perf_counter()
    model = classifier.fit(dataset.X[train_idx], dataset.defaulted[train_idx], params.seed, constraints, xgb_params)
    seconds = time.perf_counter() - started
    t = dataset.submitted_at
    info: dict[str, Any] = {
        "dataset": {"file": dataset_path.name, "sha256": file_sha256(dataset_path), "rows": dataset.rows},
        "seed": params.seed,
        "xgboost_params": xgb_params,
        "monotone_constraints": dict(zip(names, constraints)),
        "split": {
            "holdout_fraction": params.holdout_fraction,
            "train_rows": int(len(train_idx)),
            "holdout_rows": int(len(holdout_idx)),
            "train_window": {"from": iso_utc(t[train_idx].min()), "to": iso_utc(t[train_idx].max())},
            "holdout_window": {"from": iso_utc(t[holdout_idx].min()), "to": iso_utc(t[holdout_idx].max())},
        },
        "train_data_sha256": data_sha256(dataset.X[train_idx], dataset.defaulted[train_idx], t[train_idx]),
        "train_default_rate": float(dataset.defaulted[train_idx].mean()),
    }
    out.mkdir(parents=True, exist_ok=True)
    classifier.save(model, out / MODEL_FILE)
    write_json_atomic(out / INFO_FILE, info)
    print(f"  fit {seconds:.1f}s")
    return Candidate(dataset, train_idx, holdout_idx, model, info)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    p = parser("train", __doc__)
    p.add_argument("--dataset", type=Path, default=DATASET_CSV)
    p.add_argument("--out", type=Path, default=TRAIN_DIR)
    p.add_argument("--seed", type=int)
    args = p.parse_args(argv)

    def body() -> int:
        params = replace(load_params(args.params), "train", seed=args.seed)
        started = time.perf_counter()
        candidate = train(args.dataset, args.out, params.train)
        s = candidate.info["split"]
        print(f"train: {s['train_rows']} training rows ({s['train_window']['from']} .. {s['train_window']['to']}), "
              f"{s['holdout_rows']} held out, total {time.perf_counter() - started:.1f}s")
        print(f"  wrote {args.out / MODEL_FILE} and {args.out / INFO_FILE}")
        return EXIT_OK

    return run(body)


if __name__ == "__main__":
    sys.exit(main())
