"""Gate: evaluate the candidate on the time-ordered holdout and refuse it below the floors or the champion.

Prints a table of every check (floors from ``gate:`` in params.yaml; the champion's metrics on the
SAME holdout rows, scored from its model.onnx; the oracle ROC-AUC beside the candidate's) and writes
``gate.json``. Exit code 0 when every check passes, 1 when the candidate is refused (the failed
checks are named), 2 on bad input, 75 when Kafka is needed and unavailable.

Usage::

    python -m pipeline.stages.gate [--champion kafka|file|none|<folder>] [--report pipeline/data/gate.json]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

from pipeline.artifacts import iso_utc, write_json_atomic
from pipeline.retrain import candidate as candidate_mod
from pipeline.retrain.candidate import Candidate
from pipeline.retrain.champion import Champion, resolve_champion
from pipeline.retrain.evaluation import metrics_with_oracle, oracle_probability
from pipeline.fairness import elderly
from pipeline.fairness.groups import GroupTable
from pipeline.fairness.groups import read_csv as read_groups
from pipeline.retrain.fair_lending import elderly_on_model, holdout_disparity
from pipeline.retrain.gate_rules import champion_checks, elderly_checks, failed, fairness_checks, floor_checks, table
from pipeline.retrain.layout import DATASET_CSV, GATE_REPORT, TRAIN_DIR, artifact_uri, resolve
from pipeline.retrain.params import Params, replace
from pipeline.model.classifier import predict_default
from pipeline.model.onnx_export import onnx_probabilities
from pipeline.stages.common import EXIT_OK, EXIT_REFUSED, load_params, parser, run


class GateResult(NamedTuple):
    """The verdict and the report written to ``gate.json``."""

    passed: bool
    report: dict[str, Any]


def evaluate(candidate: Candidate, champion: Champion | None, params: Params, groups: GroupTable | None = None) -> GateResult:
    """Score candidate, champion and oracle on the holdout and apply the gate's rules.

    Parameters
    ----------
    candidate : Candidate
        The trained candidate with its dataset and split.
    champion : Champion or None
        The model to compare with.
    params : Params
        ``gate`` floors and margins.
    groups : GroupTable, optional
        Protected attributes by application id (``demographics.csv``): adds the fairness checks
        (docs/fairness.md); without them the report says ``fairness: null``.

    Returns
    -------
    GateResult
    """
    idx = candidate.holdout_idx
    y = candidate.y_holdout
    oracle_p, oracle_source = oracle_probability(candidate.dataset, idx)
    p_candidate = predict_default(candidate.model, candidate.X_holdout)
    metrics = metrics_with_oracle(y, p_candidate, oracle_p)
    checks = floor_checks(metrics, params.gate)
    elderly_result = elderly_on_model(candidate.model, candidate.X_holdout, list(candidate.dataset.feature_names), int(candidate.info["seed"]))
    checks += elderly_checks(elderly_result.violations, elderly.rule().elderly_from)
    champion_report = None
    p_champion = None
    if champion is not None:
        p_champion = onnx_probabilities(champion.model_bytes, candidate.X_holdout)
        champion_metrics = metrics_with_oracle(y, p_champion, oracle_p)
        checks += champion_checks(metrics, champion_metrics, champion.version, params.gate)
        champion_report = {"version": champion.version, "source": champion.source, "folder": artifact_uri(champion.folder), "metrics": champion_metrics}
    fairness = None
    if groups is not None:
        ids = candidate.dataset.application_id[idx]
        fairness = holdout_disparity(groups, ids, p_candidate, y, params.gate.fairness)
        if p_champion is not None:
            fairness["champion"] = holdout_disparity(groups, ids, p_champion, y, params.gate.fairness)["attributes"]
        checks += fairness_checks(fairness["attributes"], fairness.get("champion"), champion.version if champion else None, params.gate)
    refused = failed(checks)
    t = candidate.dataset.submitted_at[idx]
    report = {
        "passed": not refused,
        "failed": refused,
        "checks": [c._asdict() for c in checks],
        "metrics": metrics,
        "oracle_source": oracle_source,
        "elderly_age_check": elderly.record(elderly_result, elderly.rule()),
        "fairness": fairness,
        "champion": champion_report,
        "holdout": {"rows": int(len(idx)), "window": {"from": iso_utc(t.min()), "to": iso_utc(t.max())}},
        "dataset_sha256": candidate.info["dataset"]["sha256"],
        "gate_params": {
            "roc_auc_min": params.gate.roc_auc_min,
            "pr_auc_min": params.gate.pr_auc_min,
            "brier_max": params.gate.brier_max,
            "ece_max": params.gate.ece_max,
            "margin": params.gate.margin.__dict__,
            "fairness": {**params.gate.fairness.__dict__, "references": dict(params.gate.fairness.references)},
        },
    }
    return GateResult(not refused, report)


def render(report: dict[str, Any]) -> str:
    """Return the human-readable gate output: the table, the oracle line and the verdict."""
    from pipeline.retrain.gate_rules import Check

    checks = [Check(**c) for c in report["checks"]]
    m = report["metrics"]
    champion = report["champion"]
    lines = [f"gate: holdout of {report['holdout']['rows']} rows, {report['holdout']['window']['from']} .. {report['holdout']['window']['to']}"]
    lines.append(f"  champion: v{champion['version']} from {champion['source']}" if champion else "  champion: none (comparison skipped)")
    lines.append(table(checks))
    lines.append(f"ROC-AUC: model {m['roc_auc']:.4f}, oracle {m['oracle_roc_auc']:.4f} ({report['oracle_source']}), "
                 f"model - oracle {m['roc_auc'] - m['oracle_roc_auc']:+.4f}; calibration error (ECE) {m['ece']:.4f}")
    for name, f in ((report.get("fairness") or {}).get("attributes") or {}).items():
        groups = ", ".join(f"{g} {r['approval_rate']:.3f}" + (f" (AIR {r['air']:.3f}, SMD {r['smd']:+.3f})" if r["air"] is not None else "") for g, r in f["groups"].items())
        lines.append(f"fairness {name} vs {f['reference']}, approval = P(default) < {f['approve_below']:g}: {groups}")
    if report.get("fairness") is None:
        lines.append("fairness: no demographics for these rows (checks skipped; docs/fairness.md)")
    if champion:
        c = champion["metrics"]
        lines.append(f"champion v{champion['version']} on the same holdout: ROC-AUC {c['roc_auc']:.4f}, PR-AUC {c['pr_auc']:.4f}, Brier {c['brier']:.4f}, ECE {c['ece']:.4f}")
    lines.append("GATE PASSED" if report["passed"] else f"GATE FAILED: {', '.join(report['failed'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns 0 (passed), 1 (refused), 2 (bad input) or 75 (Kafka unavailable)."""
    p = parser("gate", __doc__)
    p.add_argument("--dataset", type=Path, default=DATASET_CSV)
    p.add_argument("--train-dir", type=Path, default=TRAIN_DIR)
    p.add_argument("--report", type=Path, default=GATE_REPORT)
    p.add_argument("--champion", help="kafka | file | none | a model folder (default: gate.champion)")
    p.add_argument("--models-dir", help="parent of <model name>/<version>/ (default: models_dir)")
    p.add_argument("--demographics", type=Path, help="protected attributes by application id (default: demographics.csv beside --dataset; checks skipped when absent)")
    args = p.parse_args(argv)

    def body() -> int:
        params = replace(load_params(args.params), "gate", champion=args.champion)
        params = replace(params, "", models_dir=args.models_dir)
        started = time.perf_counter()
        candidate = candidate_mod.load(args.dataset, args.train_dir)
        champion = resolve_champion(params.gate.champion, resolve(params.models_dir), params.model_name, params.gate.default_champion)
        groups_file = args.demographics or args.dataset.with_name("demographics.csv")
        groups = read_groups(groups_file) if groups_file.is_file() else None
        result = evaluate(candidate, champion, params, groups)
        write_json_atomic(args.report, result.report)
        print(render(result.report))
        print(f"  wrote {args.report} ({time.perf_counter() - started:.1f}s)")
        return EXIT_OK if result.passed else EXIT_REFUSED

    return run(body)


if __name__ == "__main__":
    sys.exit(main())
