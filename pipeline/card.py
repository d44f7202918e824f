"""The model card of one version: ``model-card.md`` and ``model-card.html`` beside the model.

A pure function of ``metadata.json`` (every bundle writer calls :func:`write_card`; ``register`` renders
it again with the final version number and logs it to MLflow with the version): intended use, training
window and population spec hash, holdout metrics beside the oracle, gate results against the champion,
calibration by decile, monotone constraints, ONNX and TreeSHAP parity, reference distributions and the
known limits.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.artifacts import write_bytes_atomic

INTENDED_USE = (
    "Estimates the probability that a consumer loan applicant defaults, from seven application features, "
    "for a lender's automated decisioning: APPROVE / REVIEW / DECLINE by the scorer's decision policy, with "
    "adverse-action reasons (exact TreeSHAP contributions mapped through schemas/reason-codes.json) on every "
    "REVIEW or DECLINE. A REVIEW goes to a human underwriter. Not for pricing, marketing or any population "
    "other than the one it was trained on."
)
KNOWN_LIMITS = [
    "Trained on a synthetic population (schemas/population.json): its metrics say how well it learns that population, not a real portfolio.",
    "No protected attributes are inputs, but age is: age-based reasons need a legal review for the market (ECOA permits age only in an empirically derived, demonstrably sound system).",
    "Reason codes explain the model's margin (path-dependent TreeSHAP, cover-weighted expectations), not causes; an unconstrained feature's direction is read against the training median.",
    "Drift in the applicant mix (the drift monitor's PSI alerts) makes the holdout metrics stale; the retrain loop retrains on the scoring log joined with outcomes.",
    "Calibration holds for the training period's default rate; a macro shock shifts it (see the drift monitor).",
]


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Observed default rate against mean predicted probability per decile of the prediction.

    Examples
    --------
    >>> t = calibration_table(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.7, 0.9]), bins=2)
    >>> [(r["rows"], r["mean_predicted"], r["observed_rate"]) for r in t]
    [(2, 0.15000000000000002, 0.0), (2, 0.8, 1.0)]
    """
    order = np.argsort(p, kind="stable")
    out = []
    for part in np.array_split(order, bins):
        if len(part) == 0:
            continue
        out.append({"rows": int(len(part)), "p_from": float(p[part].min()), "p_to": float(p[part].max()), "mean_predicted": float(p[part].mean()), "observed_rate": float(y[part].mean())})
    return out


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def fairness_section(metadata: dict[str, Any]) -> list[str]:
    """Return the card's fair-lending section: the elderly-age rule's check and the holdout's disparity by group."""
    lines = ["## Fair lending", ""]
    ec = metadata.get("elderly_age_check")
    if ec:
        lines += [f"- Regulation B elderly-age rule (12 CFR 1002.6(b)(2)(ii)): trained non-increasing in {ec['feature']}; checked on the exported ONNX model, "
                  f"{ec['rows']} holdout rows x {ec['points']} ages: {ec['violations']} violations (probability never rises from {ec['elderly_from']:g} on, "
                  f"nor from a younger age into it); no REVIEW/DECLINE of an applicant aged {ec['elderly_from']:g}+ carries an age reason."]
    fairness = metadata.get("fairness") or (metadata.get("gate") or {}).get("fairness")
    if not fairness:
        lines += ["- Disparate impact: not measured for this version (no demographics joined to its holdout; docs/fairness.md).", ""]
        return lines
    lines += [f"- Disparate impact on the holdout ({fairness['joined']} rows with demographics; approved = P(default) below the approval threshold). "
              "AIR = approval rate / the reference group's (flagged below 0.80); SMD = standardized mean difference of the score (positive: scored riskier). "
              "Groups are synthetic (schemas/population.json); the model never sees them.", ""]
    lines += ["| attribute | group | rows | approval rate | AIR | SMD | default rate among approved |", "|---|---|---|---|---|---|---|"]
    for name, f in fairness["attributes"].items():
        for group, r in f["groups"].items():
            ref = " (reference)" if group == f["reference"] else ""
            lines.append(f"| {name} | {group}{ref} | {r['rows']} | {r['approval_rate']:.3f} | {_fmt(r['air']) if r['air'] is not None else '-'} | "
                         f"{_fmt(r['smd']) if r['smd'] is not None else '-'} | {_fmt(r.get('default_rate_approved')) if r.get('default_rate_approved') is not None else '-'} |")
    lines.append("")
    return lines


def render_markdown(metadata: dict[str, Any]) -> str:
    """Return the card as Markdown."""
    t = metadata.get("training", {})
    m = metadata.get("metrics", {})
    lines = [f"# Model card: {metadata['name']} v{metadata['version']}", ""]
    lines += [f"Created {metadata.get('created_at', '(not yet registered)')}; model.onnx sha256 `{metadata['model_sha256']}`; trees.json sha256 `{metadata.get('trees_sha256', '-')}`.", ""]
    lines += ["## Intended use", "", INTENDED_USE, ""]
    w = t.get("window", {})
    hw = t.get("holdout_window", {})
    lines += ["## Training data", "", f"- training window {w.get('from')} .. {w.get('to')} ({t.get('rows')} rows), time-ordered holdout {hw.get('from')} .. {hw.get('to')} ({t.get('holdout_rows')} rows)"]
    lines += [f"- population spec sha256 `{t.get('population_spec_sha256')}`; training data sha256 `{t.get('data_sha256')}`; seed {t.get('seed')}"]
    if t.get("dataset_source"):
        lines += [f"- dataset source: {t.get('dataset_source')} (sha256 `{t.get('dataset_sha256')}`)"]
    lines += [f"- XGBoost parameters: `{t.get('xgboost_params')}`", ""]
    lines += ["## Holdout metrics", "", "| metric | this model | oracle (true probabilities) |", "|---|---|---|"]
    for k in ("roc_auc", "pr_auc", "brier", "ece"):
        if k in m:
            lines.append(f"| {k} | {_fmt(m[k])} | {_fmt(m.get('oracle_' + k, '-'))} |")
    if "default_rate" in m:
        lines.append(f"| default rate | {_fmt(m['default_rate'])} | |")
    lines.append("")
    gate = metadata.get("gate")
    lines += ["## Gate against the champion", ""]
    if gate:
        champ = gate.get("champion")
        lines += [f"Verdict: **{'passed' if gate.get('passed') else 'failed'}**" + (f" against champion v{champ['version']}" if champ else " (no champion)"), "", "| check | value | threshold | passed |", "|---|---|---|---|"]
        for c in gate.get("checks", []):
            c = c if isinstance(c, dict) else dict(zip(("name", "metric", "op", "threshold", "value", "passed"), c))
            lines.append(f"| {c.get('name')} | {_fmt(c.get('value'))} | {_fmt(c.get('threshold'))} | {c.get('passed')} |")
    else:
        lines += ["Not gated: the initial model (`make model`), the default champion."]
    lines.append("")
    lines += fairness_section(metadata)
    cal = metadata.get("calibration", [])
    lines += ["## Calibration (holdout, deciles of the prediction)", "", "| rows | predicted range | mean predicted | observed default rate |", "|---|---|---|---|"]
    lines += [f"| {r['rows']} | {r['p_from']:.3f} .. {r['p_to']:.3f} | {r['mean_predicted']:.4f} | {r['observed_rate']:.4f} |" for r in cal]
    lines.append("")
    lines += ["## Monotone constraints", "", "| feature | constraint |", "|---|---|"]
    lines += [f"| {f} | {'+1 (risk rises with it)' if c > 0 else '-1 (risk falls with it)' if c < 0 else 'none'} |" for f, c in t.get("monotone_constraints", {}).items()]
    mc = metadata.get("monotone_check")
    if mc:
        lines += ["", f"Checked on the exported ONNX model: {mc.get('rows')} holdout rows x {mc.get('grid_points')} grid points, {mc.get('violations')} violations."]
    lines.append("")
    lines += ["## Parity", "", f"- ONNX (onnxruntime) vs XGBoost: max |diff| {metadata.get('parity_max_abs_diff')} on the holdout (tolerance 1e-6)"]
    lines += ["- TreeSHAP contributions: golden.json carries XGBoost's pred_contribs; the scorer refuses a bundle whose trees do not reproduce the ONNX probabilities within 1e-6, and its contributions match pred_contribs within 1e-5 (test/model/explain-parity.test.ts)", ""]
    ref = metadata.get("reference", {}).get("features", {})
    lines += ["## Reference distributions (training data; the drift monitor compares against these)", "", "| feature | decile edges (10% .. 90%) |", "|---|---|"]
    lines += [f"| {f} | {', '.join(f'{e:g}' for e in r.get('edges', []))} |" for f, r in ref.items()]
    lines.append("")
    lines += ["## Known limits", ""] + [f"- {x}" for x in KNOWN_LIMITS] + [""]
    return "\n".join(lines)


def render_html(markdown: str) -> str:
    """A self-contained HTML rendering of the card's Markdown (headings, lists, tables, paragraphs)."""
    out = ["<!doctype html><html><head><meta charset=\"utf-8\"><title>Model card</title><style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>"]
    in_table = in_list = False
    for line in markdown.split("\n"):
        esc = html.escape(line)
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= {"-"} for c in cells):
                continue
            if not in_table:
                out.append("<table>")
                in_table = True
                out.append("<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cells) + "</tr>")
            else:
                out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if line.startswith("- "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{html.escape(line[2:])}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if line.startswith("## "):
            out.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("# "):
            out.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.strip():
            out.append(f"<p>{esc}</p>")
    if in_table:
        out.append("</table>")
    if in_list:
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out)


def write_card(folder: Path, metadata: dict[str, Any]) -> list[Path]:
    """Write ``model-card.md`` and ``model-card.html`` for ``metadata`` into ``folder``; return the paths."""
    md = render_markdown(metadata)
    paths = [folder / "model-card.md", folder / "model-card.html"]
    write_bytes_atomic(paths[0], md.encode("utf-8"))
    write_bytes_atomic(paths[1], render_html(md).encode("utf-8"))
    return paths
