"""Export: the gated candidate as ONNX + metadata, checked against XGBoost before anything is registered.

Refuses unless ``gate.json`` says the candidate passed (for this dataset). Converts to ONNX
(``pipeline.onnx_export``), then checks - on the model bytes that will ship - that onnxruntime and
XGBoost agree within ``export.parity_tolerance`` (1e-6) on every holdout row, and that the monotone
constraints hold on the exported model (``pipeline.batch.monotone``). Writes ``model.onnx``,
``golden.json`` and (last) ``metadata.json`` - feature order, metrics, training window, data hashes,
gate verdict and the reference distributions for drift - into the candidate folder. The version is
``candidate`` until ``register`` gives it a number (and a ``created_at``). The outputs depend only on
the inputs, so ``dvc.lock`` is the same on every machine for the same code, data and params.

Usage::

    python -m pipeline.stages.export [--out pipeline/data/candidate]
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.artifacts import sha256_bytes, write_bytes_atomic, write_json_atomic
from pipeline.batch import candidate as candidate_mod
from pipeline.batch.candidate import Candidate
from pipeline.batch.errors import PipelineError
from pipeline.batch.layout import CANDIDATE_DIR, DATASET_CSV, DATASET_INFO, GATE_REPORT, TRAIN_DIR
from pipeline.batch.monotone import violations
from pipeline.batch.params import ExportParams, Params
from pipeline.card import calibration_table, write_card
from pipeline.explain import explain_artifacts
from pipeline.model import predict_default
from pipeline.onnx_export import ParityError, assert_parity, onnx_probabilities, parity_max_abs_diff, signature_metadata, to_onnx
from pipeline.paths import POPULATION_SPEC
from pipeline.reference import reference_distribution
from pipeline.stages.common import EXIT_OK, load_params, parser, run
from pipeline.train_initial import BINNING_DOC, GOLDEN_ROWS

CANDIDATE_VERSION = "candidate"


def check_monotone(model_bytes: bytes, candidate: Candidate, params: ExportParams) -> dict[str, Any]:
    """Re-check the monotone constraints on the exported model; raise ``ParityError`` on a violation.

    Returns
    -------
    dict
        What was checked (features, rows, grid points) and ``violations: 0``.
    """
    names = list(candidate.dataset.feature_names)
    constraints = candidate.info["monotone_constraints"]
    rng = np.random.default_rng(candidate.info["seed"])
    rows = candidate.X_holdout[rng.choice(len(candidate.holdout_idx), size=min(params.monotone_rows, len(candidate.holdout_idx)), replace=False)]
    found = violations(lambda Z: onnx_probabilities(model_bytes, Z), rows, candidate.X_train, names, constraints, params.monotone_grid)
    if found:
        raise ParityError(f"exported model breaks its monotone constraints: {[v._asdict() for v in found]}")
    return {"features": [n for n in names if constraints.get(n, 0) != 0], "rows": int(len(rows)), "grid_points": params.monotone_grid, "violations": 0}


def build_metadata(candidate: Candidate, proto: Any, model_bytes: bytes, gate: dict[str, Any], parity: float, monotone: dict[str, Any], dataset_info: dict[str, Any], name: str) -> dict[str, Any]:
    """Return the content of ``metadata.json`` (the fields the scorer requires and the pipeline's records)."""
    names = list(candidate.dataset.feature_names)
    info, split = candidate.info, candidate.info["split"]
    rng = np.random.default_rng(info["seed"])
    X_train = candidate.X_train
    reference = {
        "binning": BINNING_DOC,
        "features": {n: reference_distribution(X_train[:, i], rng) for i, n in enumerate(names)},
        "score": reference_distribution(predict_default(candidate.model, X_train), rng),
    }
    champion = gate.get("champion")
    return {
        "name": name,
        "version": CANDIDATE_VERSION,
        **signature_metadata(proto, model_bytes, names),
        "training": {
            "rows": split["train_rows"],
            "seed": info["seed"],
            "data_sha256": info["train_data_sha256"],
            "dataset_sha256": info["dataset"]["sha256"],
            "dataset_source": dataset_info.get("source"),
            "dataset_details": dataset_info.get("details", {}),
            "window": split["train_window"],
            "holdout_rows": split["holdout_rows"],
            "holdout_window": split["holdout_window"],
            "population_spec_sha256": sha256_bytes(POPULATION_SPEC.read_bytes()),
            "xgboost_params": info["xgboost_params"],
            "monotone_constraints": info["monotone_constraints"],
        },
        "metrics": {k: float(v) for k, v in gate["metrics"].items()},
        "gate": {
            "passed": gate["passed"],
            "checks": gate["checks"],
            "champion": None if champion is None else {"version": champion["version"], "metrics": champion["metrics"]},
        },
        "parity_max_abs_diff": parity,
        "calibration": calibration_table(candidate.y_holdout, predict_default(candidate.model, candidate.X_holdout)),
        "monotone_check": monotone,
        "reference": reference,
    }


def export(candidate: Candidate, gate: dict[str, Any], dataset_info: dict[str, Any], out: Path, params: Params) -> dict[str, Any]:
    """Convert, check and write the candidate's artifacts into ``out``; return the metadata.

    Raises
    ------
    PipelineError
        ``GATE_NOT_PASSED`` when the gate report is not a pass for this dataset.
    pipeline.onnx_export.ParityError
        When parity or monotonicity fails on the exported model (nothing is written).
    """
    if not gate.get("passed") or gate.get("dataset_sha256") != candidate.info["dataset"]["sha256"]:
        raise PipelineError("GATE_NOT_PASSED", f"the gate report does not pass this candidate (passed={gate.get('passed')}, failed={gate.get('failed')}); run the gate stage")
    names = list(candidate.dataset.feature_names)
    proto = to_onnx(candidate.model, len(names), {"feature_names": json.dumps(names), "name": params.model_name}, name=params.model_name)
    model_bytes = proto.SerializeToString()
    parity = parity_max_abs_diff(candidate.model, model_bytes, candidate.X_holdout)
    assert_parity(parity, params.export.parity_tolerance)
    monotone = check_monotone(model_bytes, candidate, params.export)
    metadata = build_metadata(candidate, proto, model_bytes, gate, parity, monotone, dataset_info, params.model_name)
    rng = np.random.default_rng(candidate.info["seed"])
    golden_idx = np.sort(rng.choice(len(candidate.holdout_idx), size=min(GOLDEN_ROWS, len(candidate.holdout_idx)), replace=False))
    golden_X = candidate.X_holdout[golden_idx].astype(np.float32).astype(np.float64)
    golden = {"feature_names": names, "input_dtype": "float32", "rows": golden_X.tolist(), "probabilities": predict_default(candidate.model, golden_X).tolist()}
    trees_bytes, golden_fields, explain_fields = explain_artifacts(candidate.model, names, golden_X)
    golden.update(golden_fields)
    metadata.update(explain_fields)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    write_bytes_atomic(out / "model.onnx", model_bytes)
    write_bytes_atomic(out / "trees.json", trees_bytes)
    write_json_atomic(out / "golden.json", golden)
    write_json_atomic(out / "gate.json", gate)
    write_card(out, metadata)
    write_json_atomic(out / "metadata.json", metadata)
    return metadata


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns 0, or 2 when the gate did not pass or a check fails."""
    p = parser("export", __doc__)
    p.add_argument("--dataset", type=Path, default=DATASET_CSV)
    p.add_argument("--dataset-info", type=Path, default=DATASET_INFO)
    p.add_argument("--train-dir", type=Path, default=TRAIN_DIR)
    p.add_argument("--gate-report", type=Path, default=GATE_REPORT)
    p.add_argument("--out", type=Path, default=CANDIDATE_DIR)
    args = p.parse_args(argv)

    def body() -> int:
        params = load_params(args.params)
        started = time.perf_counter()
        candidate = candidate_mod.load(args.dataset, args.train_dir)
        if not args.gate_report.is_file():
            raise PipelineError("GATE_NOT_PASSED", f"{args.gate_report}: no gate report; run the gate stage")
        gate = json.loads(args.gate_report.read_text(encoding="utf-8"))
        dataset_info = json.loads(args.dataset_info.read_text(encoding="utf-8")) if args.dataset_info.is_file() else {}
        try:
            metadata = export(candidate, gate, dataset_info, args.out, params)
        except ParityError as e:
            raise PipelineError("EXPORT_CHECK_FAILED", str(e)) from e
        print(f"export: ONNX parity max abs diff {metadata['parity_max_abs_diff']:.3g} (<= {params.export.parity_tolerance:g}) on "
              f"{metadata['training']['holdout_rows']} holdout rows; monotone constraints hold on the exported model "
              f"({', '.join(metadata['monotone_check']['features'])}); {time.perf_counter() - started:.1f}s")
        print(f"  wrote {args.out}/model.onnx (sha256 {metadata['model_sha256'][:16]}...), metadata.json, golden.json")
        return EXIT_OK

    return run(body)


if __name__ == "__main__":
    sys.exit(main())
