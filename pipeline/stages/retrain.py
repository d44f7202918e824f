"""Retrain: the whole loop against the running stack - extract -> train -> gate -> export -> register -> promote.

By default the training set is read from Kafka (``scoring-log`` joined with ``loan-outcomes`` over
``data.since``/``data.until``) and the champion is the one announced on ``model-updates``. Every
stage writes into its own run folder (``pipeline/data/runs/<UTC time>/``). A candidate the gate
refuses is logged to MLflow as a run tagged ``gate=rejected`` and the command exits 1: nothing is
exported, registered or announced. Each stage's wall time is printed.

Usage::

    python -m pipeline.stages.retrain [--source kafka|generate|file] [--file F] [--since 30d]
                                      [--stop-after gate|export|register|promote]
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipeline.retrain import tracking
from pipeline.retrain.champion import resolve_champion
from pipeline.retrain.layout import DATA_DIR, resolve
from pipeline.retrain.params import Params, replace
from pipeline.stages import export as export_stage
from pipeline.stages import extract as extract_stage
from pipeline.stages import gate as gate_stage
from pipeline.retrain import approval as approval_mod
from pipeline.stages import promote as promote_stage
from pipeline.stages import register as register_stage
from pipeline.stages import train as train_stage
from pipeline.stages.common import EXIT_OK, EXIT_REFUSED, load_params, parser, run
from pipeline.retrain.fair_lending import fairness_metrics

STOPS = ("gate", "export", "register", "promote")


class Clock:
    """Wall time of each stage, printed as it ends."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._started = time.perf_counter()

    def lap(self, stage: str) -> None:
        """Record the time since the previous lap as ``stage``'s."""
        now = time.perf_counter()
        self.seconds[stage] = now - self._started
        self._started = now
        print(f"  [{stage}: {self.seconds[stage]:.1f}s]")

    def summary(self) -> str:
        """Return ``stage Ns, ...`` and the total."""
        parts = ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())
        return f"timings: {parts}; total {sum(self.seconds.values()):.1f}s"


def log_rejected(params: Params, uri: str, report: dict[str, Any], train_info: dict[str, Any], workdir: Path) -> str:
    """Record a refused candidate in MLflow as a run tagged ``gate=rejected`` (nothing is registered)."""
    metrics = dict(report["metrics"])
    if report.get("champion"):
        metrics.update({f"champion_{k}": v for k, v in report["champion"]["metrics"].items()})
    metrics.update(fairness_metrics(report))
    tags = {"gate": "rejected", "failed": "; ".join(report["failed"])[:5000], "dataset_sha256": report["dataset_sha256"]}
    reports = workdir / "reports"
    reports.mkdir(exist_ok=True)
    for name in ("gate.json", "dataset.json"):
        if (workdir / name).is_file():
            (reports / name).write_bytes((workdir / name).read_bytes())
    (reports / "train.json").write_bytes((workdir / "train" / "train.json").read_bytes())
    params_logged = {"seed": train_info["seed"], "xgboost": train_info["xgboost_params"], "split": train_info["split"]}
    run_id, _ = tracking.log_run(uri, params.model_name, params_logged, metrics, tags, {"reports": reports})
    return run_id


def retrain(params: Params, workdir: Path, uri: str, stop_after: str = "promote", reason: str = "") -> int:
    """Run the loop; return the exit code (0 done, 1 refused by the gate)."""
    clock = Clock()
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"retrain: {params.model_name}, source {params.data.source}, champion from {params.gate.champion}, work dir {workdir}")
    dataset, details, groups = extract_stage.extract(params.data)
    extracted = extract_stage.write(dataset, details, params.data, workdir / "dataset.csv", workdir / "dataset.json", groups)
    info = extracted.info
    print(f"extract: {info['rows']} rows, {info['window']['from']} .. {info['window']['to']}, default rate {info['default_rate']:.3f}")
    if "join" in details:
        print(f"  join: {details['join']}; undecodable: {details['undecodable']}; dropped: {details['dropped']}")
    clock.lap("extract")

    candidate = train_stage.train(workdir / "dataset.csv", workdir / "train", params.train)
    print(f"train: {candidate.info['split']['train_rows']} training rows, {candidate.info['split']['holdout_rows']} held out")
    clock.lap("train")

    champion = resolve_champion(params.gate.champion, resolve(params.models_dir), params.model_name, params.gate.default_champion)
    result = gate_stage.evaluate(candidate, champion, params, groups)
    from pipeline.artifacts import write_json_atomic

    write_json_atomic(workdir / "gate.json", result.report)
    print(gate_stage.render(result.report))
    clock.lap("gate")
    if not result.passed:
        run_id = log_rejected(params, uri, result.report, candidate.info, workdir)
        print(f"refused: logged as MLflow run {run_id} (tag gate=rejected); nothing exported, registered or promoted")
        print(clock.summary())
        return EXIT_REFUSED
    if stop_after == "gate":
        print(clock.summary())
        return EXIT_OK

    metadata = export_stage.export(candidate, result.report, info, workdir / "candidate", params)
    print(f"export: parity {metadata['parity_max_abs_diff']:.3g}, monotone constraints hold on the ONNX model")
    clock.lap("export")
    if stop_after == "export":
        print(clock.summary())
        return EXIT_OK

    # Above the announced champion too: a retrain worker's models_dir may be fresh (a new pod) while the
    # champion came from another machine (its bundle fetched from the artifact store).
    above_champion = int(champion.version) + 1 if champion is not None and champion.version.isdigit() else 1
    registered = register_stage.register(workdir / "candidate", resolve(params.models_dir), params.model_name, uri, workdir / "train", workdir / "dataset.json", at_least=above_champion)
    print(f"register: v{registered.version} -> {registered.folder} (MLflow version {registered.mlflow_version})")
    clock.lap("register")
    if stop_after == "register":
        print(clock.summary())
        return EXIT_OK

    # The loop approves its own promotion; the record says which drift window and which gate result it rests on.
    approval = approval_mod.automatic(reason, int(time.time() * 1000), result.report)
    announced = promote_stage.promote(params, registered.version, reason or "retrained and gated", uri, approval)
    print(f"  approval: {approval['approved_by']} ({approval['mode']}): {approval['reason']}")
    print(f"promote: v{registered.version} announced on {announced.topic} [{announced.partition}@{announced.offset}] (previous v{announced.update['previous_version']})")
    clock.lap("promote")
    print(clock.summary())
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns 0, 1 (refused by the gate), 2 (bad input) or 75 (stack unavailable)."""
    p = parser("retrain", __doc__)
    p.add_argument("--source", choices=["generate", "file", "kafka"], default="kafka")
    p.add_argument("--file")
    p.add_argument("--rows", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--since")
    p.add_argument("--until")
    p.add_argument("--champion", default="kafka", help="kafka | file | none | a model folder")
    p.add_argument("--models-dir")
    p.add_argument("--tracking-uri")
    p.add_argument("--workdir", type=Path, help="default: pipeline/data/runs/<UTC time>")
    p.add_argument("--stop-after", choices=STOPS, default="promote")
    p.add_argument("--reason", default="")
    args = p.parse_args(argv)

    def body() -> int:
        params = load_params(args.params)
        params = replace(params, "data", source=args.source, file=args.file, rows=args.rows, seed=args.seed, since=args.since, until=args.until)
        params = replace(params, "gate", champion=args.champion)
        params = replace(params, "", models_dir=args.models_dir)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        workdir = args.workdir or DATA_DIR / "runs" / stamp
        return retrain(params, workdir, tracking.tracking_uri(args.tracking_uri), args.stop_after, args.reason)

    return run(body)


if __name__ == "__main__":
    sys.exit(main())
