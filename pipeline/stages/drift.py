"""Drift: PSI of a current dataset against the candidate's training reference, plus an Evidently report.

Per feature and for the score (the candidate's probability of default, scored with its ``model.onnx``),
the population stability index between the current rows and the frozen reference bins in the candidate's
``metadata.json`` (``reference.features.<name>``, ``reference.score``) - computed exactly as the streaming
monitor does (services/drift: ``binning.ts``, ``psi.ts``): bin of *x* = number of edges <= *x*
(``bisect_right``), one more bin for missing values (NaN, +-inf), expected = ``proportions x (1 - missing)``
then ``missing_proportion``, both shares floored at ``epsilon`` and PSI = sum((a - e) ln(a / e)).
``test/drift/psi-parity.test.ts`` checks the two agree within 1e-9 on the same records.

The current dataset (``drift.source``): ``dataset`` - the latest ``current_fraction`` of
``pipeline/data/dataset.csv`` by ``submitted_at`` (what the candidate was not trained on); ``file`` - a
.csv/.jsonl/.parquet file (``drift.file``, as extract reads it); ``kafka`` - the scoring log on the cluster.

Writes ``pipeline/data/drift.json`` (DVC metrics), ``pipeline/data/drift.prom`` (Prometheus textfile,
for node_exporter's textfile collector) and, best-effort, ``pipeline/data/drift-report.html``: Evidently's
data-drift preset on the same current rows against the reference samples. If Evidently is missing or fails
the stage says why (in the log and in drift.json) and still succeeds; the HTML then explains the absence.

Usage::

    python -m pipeline.stages.drift
"""

from __future__ import annotations

import html
import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.paths import REPO_ROOT
from pipeline.retrain.layout import CANDIDATE_DIR, DATA_DIR, DATASET_CSV

if TYPE_CHECKING:
    from pipeline.retrain.params import DriftParams

# The stage's other imports (params -> pipeline.model.classifier -> xgboost) are in main(): the PSI functions are
# imported alone by test/drift/psi-parity.test.ts.
DRIFT_JSON = DATA_DIR / "drift.json"
DRIFT_PROM = DATA_DIR / "drift.prom"
DRIFT_HTML = DATA_DIR / "drift-report.html"
SCORE = "score"


def expected_shares(ref: dict[str, Any]) -> np.ndarray:
    """Reference proportions per bin, then of missing values (as ``reference.ts`` compiles them).

    Examples
    --------
    >>> expected_shares({"edges": [1.0], "proportions": [0.5, 0.5], "missing_proportion": 0.2}).tolist()
    [0.4, 0.4, 0.2]
    """
    m = float(ref.get("missing_proportion", 0.0))
    return np.append(np.asarray(ref["proportions"], dtype=np.float64) * (1 - m), m)


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per reference bin (``bisect_right`` over ``edges``), then of missing (non-finite) values.

    Examples
    --------
    >>> bin_counts(np.array([0.0, 1.0, 2.0, np.nan]), np.array([1.0])).tolist()
    [1, 2, 1]
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    counts = np.bincount(np.searchsorted(edges, values[finite], side="right"), minlength=len(edges) + 1)
    return np.append(counts, int((~finite).sum())).astype(np.int64)


def psi(counts: np.ndarray, expected: np.ndarray, epsilon: float) -> float:
    """PSI = sum((a - e) ln(a / e)), both shares floored at ``epsilon`` (``psi.ts``); NaN for no records.

    Examples
    --------
    >>> round(psi(np.array([50, 50]), np.array([0.5, 0.5]), 1e-4), 12)
    0.0
    """
    n = counts.sum()
    if n == 0:
        return float("nan")
    a = np.maximum(counts / n, epsilon)
    e = np.maximum(expected, epsilon)
    # Summed in bin order, like the TypeScript loop, so both round the same way.
    total = 0.0
    for ai, ei in zip(a.tolist(), e.tolist()):
        total += (ai - ei) * float(np.log(ai / ei))
    return total


def severity(value: float, warn: float, alert: float) -> str:
    """``ALERT`` / ``WARN`` / ``NONE`` by the monitor's bands."""
    return "ALERT" if value >= alert else "WARN" if value >= warn else "NONE"


def target_psi(values: dict[str, np.ndarray], reference: dict[str, Any], epsilon: float) -> dict[str, dict[str, Any]]:
    """PSI and counts per target (features in ``values`` order, then ``score``) against ``reference``."""
    out = {}
    for name, v in values.items():
        ref = reference["score"] if name == SCORE else reference["features"][name]
        counts = bin_counts(v, np.asarray(ref["edges"], dtype=np.float64))
        out[name] = {"psi": psi(counts, expected_shares(ref), epsilon), "records": int(counts.sum()), "missing": int(counts[-1]), "counts": counts.tolist()}
    return out


def current_rows(params: DriftParams, names: list[str], kafka_timeout_s: float) -> tuple[np.ndarray, dict[str, Any]]:
    """The current feature matrix ``[n, features]`` and where it came from."""
    if params.source == "kafka":
        from pipeline.kafka.records import read_values
        from pipeline.kafka.registry import SchemaRegistry
        from pipeline.kafka.settings import kafka_settings, topic_name

        settings = kafka_settings()
        topic = topic_name("scoringLog")
        logs = read_values(settings, SchemaRegistry.from_settings(settings), topic, "scoring-log", kafka_timeout_s)
        X = np.asarray([[float(r["features"].get(n, np.nan)) for n in names] for r in logs.values], dtype=np.float64).reshape(-1, len(names))
        return X, {"source": "kafka", "topic": topic, "rows": int(len(X))}
    from pipeline.retrain.dataset import read_file

    path = Path(params.file) if params.source == "file" else DATASET_CSV
    dataset, _ = read_file(path, names)
    X = dataset.X
    if params.source == "dataset":
        X = X[int(round(len(X) * (1 - params.current_fraction))) :]  # sorted by submitted_at: the latest rows
    return X, {"source": params.source, "file": shown_path(path), "rows": int(len(X))}


def shown_path(path: Path) -> str:
    """A path as the outputs record it: relative to the repository when inside it (same bytes in every clone).

    Examples
    --------
    >>> shown_path(REPO_ROOT / "pipeline" / "data" / "dataset.csv"), shown_path(Path("/elsewhere/x.csv"))
    ('pipeline/data/dataset.csv', '/elsewhere/x.csv')
    """
    resolved = path.resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(path)


_REPORT_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?<=metric_)[0-9a-f]{32}")


def stable_ids(report_html: str) -> str:
    """Replace the random and time-based ids Evidently puts in its HTML with ids numbered by first appearance.

    The report of the same rows is then the same file in every run, so ``dvc repro`` records the same
    output hash (``dvc.lock`` stays as committed).

    Examples
    --------
    >>> stable_ids('var metric_ea29fca6b2d7465d960b9a2e5ef8a157 = {"id": "01a24f28-d3f7-746f-a695-f00f094b91f0", "ref": "01a24f28-d3f7-746f-a695-f00f094b91f0"}')
    'var metric_00000000000000000000000000000000 = {"id": "00000000-0000-4000-8000-000000000001", "ref": "00000000-0000-4000-8000-000000000001"}'
    """
    seen: dict[str, str] = {}

    def renumber(m: re.Match[str]) -> str:
        found = m.group(0)
        if found not in seen:
            seen[found] = f"{len(seen):032x}" if len(found) == 32 else f"00000000-0000-4000-8000-{len(seen):012x}"
        return seen[found]

    return _REPORT_IDS.sub(renumber, report_html)


def prometheus_text(result: dict[str, Any]) -> str:
    """The Prometheus textfile: ``pipeline_drift_psi{target}``, severity, records, timestamp."""
    lines = [
        "# HELP pipeline_drift_psi PSI of the current dataset against the candidate's training reference (dvc stage drift).",
        "# TYPE pipeline_drift_psi gauge",
    ]
    for name, t in result["targets"].items():
        lines.append(f'pipeline_drift_psi{{target="{name}",model_version="{result["model_version"]}"}} {t["psi"]:.12g}')
    lines += ["# HELP pipeline_drift_severity 0 none, 1 warn, 2 alert (monitor bands).", "# TYPE pipeline_drift_severity gauge"]
    for name, t in result["targets"].items():
        lines.append(f'pipeline_drift_severity{{target="{name}"}} {["NONE", "WARN", "ALERT"].index(t["severity"])}')
    lines += ["# HELP pipeline_drift_current_records Rows of the current dataset.", "# TYPE pipeline_drift_current_records gauge", f"pipeline_drift_current_records {result['current']['rows']}"]
    lines += ["# HELP pipeline_drift_evidently_ok 1 when the Evidently report was written.", "# TYPE pipeline_drift_evidently_ok gauge", f"pipeline_drift_evidently_ok {1 if result['evidently']['ok'] else 0}"]
    return "\n".join(lines) + "\n"


def evidently_report(reference: dict[str, Any], current: dict[str, np.ndarray], out: Path) -> dict[str, Any]:
    """Best-effort Evidently data-drift report (HTML) of ``current`` against the reference samples.

    Returns
    -------
    dict
        ``ok`` and either the Evidently version or the reason it was not written.
    """
    try:
        import evidently
        import pandas as pd
        from evidently import Report
        from evidently.presets import DataDriftPreset
    except Exception as e:  # noqa: BLE001 - any import problem means "no report", never a failed stage
        return {"ok": False, "reason": f"evidently is not usable: {type(e).__name__}: {e}"}
    try:
        ref = {n: reference["score" if n == SCORE else "features"][n]["sample"] if n != SCORE else reference["score"]["sample"] for n in current}
        size = min(len(v) for v in ref.values())
        ref_df = pd.DataFrame({n: np.asarray(v[:size], dtype=np.float64) for n, v in ref.items()})
        cur_df = pd.DataFrame({n: np.asarray(v, dtype=np.float64) for n, v in current.items()})
        snapshot = Report([DataDriftPreset()]).run(current_data=cur_df, reference_data=ref_df)
        tmp = out.with_suffix(".tmp.html")
        snapshot.save_html(str(tmp))
        tmp.write_text(stable_ids(tmp.read_text(encoding="utf-8")), encoding="utf-8")
        tmp.replace(out)
        return {"ok": True, "version": evidently.__version__, "file": shown_path(out)}
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "reason": f"evidently failed: {type(e).__name__}: {e}"}


def main(argv: list[str] | None = None) -> int:
    from pipeline.artifacts import write_bytes_atomic, write_json_atomic
    from pipeline.errors import PipelineError
    from pipeline.stages.common import EXIT_OK, load_params, parser

    p = parser("python -m pipeline.stages.drift", __doc__)
    p.add_argument("--candidate", type=Path, default=CANDIDATE_DIR)
    args = p.parse_args(argv)
    params = load_params(args.params)
    dp = params.drift
    started = time.monotonic()
    meta_path = args.candidate / "metadata.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise PipelineError("MODEL_INVALID", f"cannot read {meta_path}: {e}") from e
    reference = meta.get("reference")
    if not reference:
        raise PipelineError("MODEL_INVALID", f"{meta_path} has no reference distributions")
    names = list(meta["feature_names"])
    X, source = current_rows(dp, names, params.data.kafka_timeout_s)
    if len(X) == 0:
        raise PipelineError("DATASET_INVALID", f"the current dataset ({source}) has no rows")
    from pipeline.model.onnx_export import onnx_probabilities

    scores = onnx_probabilities((args.candidate / "model.onnx").read_bytes(), X, int(meta.get("probability_column", 1)))
    values = {n: X[:, j] for j, n in enumerate(names)} | {SCORE: np.asarray(scores, dtype=np.float64)}
    targets = target_psi(values, reference, dp.epsilon)
    for t in targets.values():
        t["severity"] = severity(t["psi"], dp.warn, dp.alert)
    ev = evidently_report(reference, values, DRIFT_HTML) if dp.evidently else {"ok": False, "reason": "drift.evidently is false"}
    if not ev["ok"]:
        print(f"drift: no Evidently report ({ev['reason']}); PSI is written anyway", file=sys.stderr)
        DRIFT_HTML.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(DRIFT_HTML, f"<!doctype html><title>drift report</title><p>No Evidently report: {html.escape(ev['reason'])}</p>".encode())
    result = {
        "model_version": meta.get("version", "candidate"),
        "epsilon": dp.epsilon,
        "bands": {"warn": dp.warn, "alert": dp.alert},
        "current": source,
        "targets": targets,
        "max_psi": max(t["psi"] for t in targets.values()),
        "evidently": ev,
    }
    write_json_atomic(DRIFT_JSON, result)
    write_bytes_atomic(DRIFT_PROM, prometheus_text(result).encode())
    worst = max(targets, key=lambda n: targets[n]["psi"])
    print(f"drift: {source['rows']} current rows; max PSI {targets[worst]['psi']:.4f} ({worst}, {targets[worst]['severity']}); evidently {'ok' if ev['ok'] else 'skipped'}; {time.monotonic() - started:.1f}s")
    return EXIT_OK


if __name__ == "__main__":
    from pipeline.stages.common import run

    sys.exit(run(main))
