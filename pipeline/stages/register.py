"""Register: give the exported candidate a served version, record it in MLflow, place it where scorers load it.

Checks the candidate folder (``model.onnx`` sha256 = ``metadata.model_sha256``, gate passed), reserves
the next version number (above every ``models/<name>/<n>/`` folder and every version already in the
MLflow registry), logs an MLflow run (params, holdout metrics, the champion's metrics on the same
holdout, parity, tags; the artifacts under ``model/``), registers it under the model name (tag
``served_version``), and writes ``models/<name>/<version>/`` (model.onnx, metadata.json with the
version, golden.json, gate.json, any extra artefacts of the bundle, registry.json). Nothing is
announced: see ``promote``.

Usage::

    python -m pipeline.stages.register [--candidate pipeline/data/candidate] [--tracking-uri URI]
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from pipeline.artifacts import sha256_bytes, write_json_atomic
from pipeline.card import write_card
from pipeline.retrain import tracking
from pipeline.errors import PipelineError
from pipeline.retrain.layout import CANDIDATE_DIR, DATASET_INFO, TRAIN_DIR, resolve
from pipeline.retrain.params import replace
from pipeline.retrain.versions import reserve_next
from pipeline.model.bundle import GOLDEN_FILE, METADATA_FILE, MODEL_FILE
from pipeline.stages.common import EXIT_OK, load_params, parser, run
from pipeline.stages.export import CANDIDATE_VERSION, GATE_FILE
from pipeline.retrain.fair_lending import fairness_metrics

FILES = (MODEL_FILE, GOLDEN_FILE, GATE_FILE)
"""Files every candidate bundle has besides ``metadata.json``; every other file the export stage wrote
(extra artefacts of :func:`pipeline.model.bundle.write_bundle`) is copied along with them."""


def bundle_files(folder: Path) -> list[str]:
    """Return the candidate bundle's files to copy (all regular files except ``metadata.json``), sorted."""
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != METADATA_FILE and not p.name.startswith("."))


class Registered(NamedTuple):
    """Where a registered version went."""

    version: str
    folder: Path
    mlflow_version: str
    run_id: str
    metadata: dict[str, Any]


def read_candidate(folder: Path) -> dict[str, Any]:
    """Return the candidate's metadata after checking its files, checksum and gate verdict.

    Raises
    ------
    PipelineError
        ``CANDIDATE_INVALID`` if anything is missing or inconsistent.
    """
    meta_path = folder / "metadata.json"
    missing = [f for f in (*FILES, "metadata.json") if not (folder / f).is_file()]
    if missing:
        raise PipelineError("CANDIDATE_INVALID", f"{folder}: missing {missing}; run the export stage")
    metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    sha = sha256_bytes((folder / "model.onnx").read_bytes())
    if sha != metadata.get("model_sha256"):
        raise PipelineError("CANDIDATE_INVALID", f"{folder}/model.onnx sha256 {sha} != metadata.model_sha256 {metadata.get('model_sha256')}")
    if not metadata.get("gate", {}).get("passed"):
        raise PipelineError("CANDIDATE_INVALID", f"{folder}: the gate did not pass this candidate")
    if metadata.get("version") != CANDIDATE_VERSION:
        raise PipelineError("CANDIDATE_INVALID", f"{folder}: version is {metadata.get('version')!r}, expected an unregistered {CANDIDATE_VERSION!r}")
    return metadata


def run_params(metadata: dict[str, Any], train_info: dict[str, Any] | None) -> dict[str, Any]:
    """Return what MLflow records as the run's parameters."""
    training = metadata["training"]
    params = {
        "seed": training["seed"],
        "train_rows": training["rows"],
        "holdout_rows": training["holdout_rows"],
        "train_window": training["window"],
        "holdout_window": training["holdout_window"],
        "dataset_source": training.get("dataset_source"),
        "dataset_sha256": training["dataset_sha256"],
        "data_sha256": training["data_sha256"],
        "xgboost": training["xgboost_params"],
        "monotone": training["monotone_constraints"],
    }
    if train_info is not None:
        params["holdout_fraction"] = train_info["split"]["holdout_fraction"]
    return params


def run_metrics(metadata: dict[str, Any]) -> dict[str, float]:
    """Return the run's metrics: holdout metrics, ``champion_*`` on the same holdout, parity, fair lending."""
    metrics = dict(metadata["metrics"])
    champion = metadata["gate"].get("champion")
    if champion:
        metrics.update({f"champion_{k}": v for k, v in champion["metrics"].items()})
    metrics["parity_max_abs_diff"] = metadata["parity_max_abs_diff"]
    metrics.update(fairness_metrics({"elderly_age_check": metadata.get("elderly_age_check"), "fairness": metadata["gate"].get("fairness")}))
    return metrics


def register(candidate_dir: Path, models_dir: Path, name: str, uri: str, train_dir: Path | None = None, dataset_info: Path | None = None, at_least: int = 1) -> Registered:
    """Register the candidate in ``candidate_dir`` (see the module doc); its version is above every version
    in ``models_dir``, in MLflow, and at least ``at_least`` (e.g. above the announced champion, which a
    worker with a fresh ``models_dir`` has not seen)."""
    metadata = read_candidate(candidate_dir)
    train_info_path = None if train_dir is None else train_dir / "train.json"
    train_info = json.loads(train_info_path.read_text()) if train_info_path and train_info_path.is_file() else None
    version, folder = reserve_next(models_dir / name, at_least=max(at_least, tracking.max_served_version(uri, name) + 1))
    try:
        created_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        final = {**metadata, "version": version, "created_at": created_at}
        with tempfile.TemporaryDirectory(prefix="register-") as tmp:
            staging = Path(tmp) / "model"
            staging.mkdir()
            files = bundle_files(candidate_dir)
            for f in files:
                shutil.copyfile(candidate_dir / f, staging / f)
            write_json_atomic(staging / "metadata.json", final)
            # The model card again, with the version number; logged to MLflow with the model's artifacts.
            if (staging / "model-card.md").is_file():
                write_card(staging, final)
            extra = Path(tmp) / "inputs"
            extra.mkdir()
            for path in (train_info_path, dataset_info):
                if path is not None and path.is_file():
                    shutil.copyfile(path, extra / path.name)
            tags = {"served_version": version, "gate": "passed", "model_sha256": metadata["model_sha256"], "dataset_sha256": metadata["training"]["dataset_sha256"]}
            run_id, artifact_uri = tracking.log_run(uri, name, run_params(metadata, train_info), run_metrics(metadata), tags, {"model": staging, "inputs": extra})
            mlflow_version = tracking.register(uri, name, run_id, f"{artifact_uri}/model", version, {"model_sha256": metadata["model_sha256"]})
            for f in (*files, METADATA_FILE):
                shutil.copyfile(staging / f, folder / f)
        write_json_atomic(folder / "registry.json", {"tracking_uri": uri, "run_id": run_id, "mlflow_version": mlflow_version, "served_version": version})
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Registered(version, folder, mlflow_version, run_id, final)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns 0, or 2 when the candidate is not registrable."""
    p = parser("register", __doc__)
    p.add_argument("--candidate", type=Path, default=CANDIDATE_DIR)
    p.add_argument("--train-dir", type=Path, default=TRAIN_DIR)
    p.add_argument("--dataset-info", type=Path, default=DATASET_INFO)
    p.add_argument("--models-dir", help="parent of <model name>/<version>/ (default: models_dir)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else sqlite in mlruns/)")
    args = p.parse_args(argv)

    def body() -> int:
        params = replace(load_params(args.params), "", models_dir=args.models_dir)
        started = time.perf_counter()
        result = register(args.candidate, resolve(params.models_dir), params.model_name, tracking.tracking_uri(args.tracking_uri), args.train_dir, args.dataset_info)
        print(f"register: {params.model_name} v{result.version} -> {result.folder} (MLflow version {result.mlflow_version}, run {result.run_id}); {time.perf_counter() - started:.1f}s")
        print(f"  announce it with: make promote VERSION={result.version}")
        return EXIT_OK

    return run(body)


if __name__ == "__main__":
    sys.exit(main())
