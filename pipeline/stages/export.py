"""Export: the gated candidate as ONNX + metadata, checked against XGBoost before anything is registered.

Refuses unless ``gate.json`` says the candidate passed (for this dataset). Writes the bundle with
:func:`pipeline.model.bundle.write_bundle`, which converts to ONNX (``pipeline.model.onnx_export``) and checks -
on the model bytes that will ship - that onnxruntime and XGBoost agree within ``export.parity_tolerance`` (1e-6) on every holdout row, and that the monotone
constraints hold on the exported model (``pipeline.model.monotone``). Writes ``model.onnx``,
``golden.json`` and (last) ``metadata.json`` - feature order, metrics, training window, data hashes,
gate verdict and the reference distributions for drift - into the candidate folder. The version is
``candidate`` until ``register`` gives it a number (and a ``created_at``). The outputs depend only on
the inputs, so ``dvc.lock`` is the same on every machine for the same code, data and params.

Usage::

    python -m pipeline.stages.export [--out pipeline/data/candidate]
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.artifacts import sha256_bytes
from pipeline.retrain import candidate as candidate_mod
from pipeline.retrain.candidate import Candidate
from pipeline.errors import PipelineError
from pipeline.retrain.layout import CANDIDATE_DIR, DATASET_CSV, DATASET_INFO, GATE_REPORT, TRAIN_DIR
from pipeline.model.monotone import violations
from pipeline.retrain.params import ExportParams, Params
from pipeline.explain import bundle_hooks
from pipeline.model.bundle import Artefact, BundleInput, Exported, GoldenFields, write_bundle
from pipeline.model.onnx_export import ParityError, onnx_probabilities
from pipeline.paths import POPULATION_SPEC
from pipeline.stages.common import EXIT_OK, load_params, parser, run

CANDIDATE_VERSION = "candidate"
GATE_FILE = "gate.json"


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


def bundle_input(candidate: Candidate, gate: dict[str, Any], dataset_info: dict[str, Any], params: Params) -> BundleInput:
    """Return what the candidate's bundle is made from (metadata fields the scorer requires and the pipeline's records)."""
    info, split = candidate.info, candidate.info["split"]
    champion = gate.get("champion")
    training = {
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
    }
    verdict = {
        "passed": gate["passed"],
        "checks": gate["checks"],
        "champion": None if champion is None else {"version": champion["version"], "metrics": champion["metrics"]},
        "fairness": gate.get("fairness"),
    }
    return BundleInput(
        name=params.model_name,
        version=CANDIDATE_VERSION,
        model=candidate.model,
        feature_names=list(candidate.dataset.feature_names),
        X_train=candidate.X_train,
        X_holdout=candidate.X_holdout,
        seed=info["seed"],
        training=training,
        metrics=gate["metrics"],
        metadata={"gate": verdict},
        parity_tolerance=params.export.parity_tolerance,
    )


def export(
    candidate: Candidate,
    gate: dict[str, Any],
    dataset_info: dict[str, Any],
    out: Path,
    params: Params,
    extras: Sequence[Artefact] = (),
    golden_fields: Sequence[GoldenFields] = (),
) -> dict[str, Any]:
    """Convert, check and write the candidate's bundle (plus ``gate.json``) into ``out``; return the metadata.

    Parameters
    ----------
    extras, golden_fields : optional
        Further files of the bundle and fields of ``golden.json`` (:func:`pipeline.model.bundle.write_bundle`).

    Raises
    ------
    PipelineError
        ``GATE_NOT_PASSED`` when the gate report is not a pass for this dataset.
    pipeline.model.onnx_export.ParityError
        When parity or monotonicity fails on the exported model (nothing is written).
    """
    if not gate.get("passed") or gate.get("dataset_sha256") != candidate.info["dataset"]["sha256"]:
        raise PipelineError("GATE_NOT_PASSED", f"the gate report does not pass this candidate (passed={gate.get('passed')}, failed={gate.get('failed')}); run the gate stage")

    def monotone(exported: Exported) -> dict[str, Any]:
        return {"monotone_check": check_monotone(exported.model_bytes, candidate, params.export)}

    gate_report = Artefact(GATE_FILE, lambda _exported, _metadata: gate)
    # The explanation artefacts (trees.json, pred_contribs of the golden rows, calibration, model card last).
    explain_extras, explain_golden, explain_checks = bundle_hooks(candidate.model, list(candidate.dataset.feature_names), candidate.y_holdout)
    return write_bundle(bundle_input(candidate, gate, dataset_info, params), out, extras=(gate_report, *extras, *explain_extras), checks=(monotone, *explain_checks), golden_fields=(*golden_fields, *explain_golden), clean=True)


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
