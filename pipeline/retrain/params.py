"""Parameters of the pipeline, read once from ``params.yaml`` and validated.

``params.yaml`` (repository root) is the one config file: data source, training seeds, the
gate's floors and margins, the export checks. ``dvc.yaml`` lists the keys each stage depends
on, so changing a floor reruns only the gate. Raw YAML -> defaults -> checked, frozen values;
an error names the offending key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from pipeline.errors import PipelineError
from pipeline.retrain.layout import MODEL_NAME, PARAMS_FILE
from pipeline.model.classifier import XGB_PARAMS

SOURCES = ("generate", "file", "kafka")


@dataclass(frozen=True)
class DataParams:
    """Where the training set comes from (``data:``)."""

    source: str = "generate"
    file: str | None = None
    rows: int = 50_000
    seed: int = 42
    shock_at: float | None = None
    since: str | None = None
    until: str | None = None
    kafka_timeout_s: float = 60.0


@dataclass(frozen=True)
class TrainParams:
    """How the candidate is trained (``train:``)."""

    seed: int = 42
    holdout_fraction: float = 0.2
    monotone: bool = True
    xgboost: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Margins:
    """How much worse than the champion a candidate may be, per metric (``gate.margin:``)."""

    roc_auc: float = 0.01
    pr_auc: float = 0.02
    brier: float = 0.01


@dataclass(frozen=True)
class FairnessParams:
    """The gate's disparate-impact checks on the holdout (``gate.fairness:``, docs/fairness.md)."""

    approve_below: float = 0.3
    air_min: float = 0.80
    air_margin: float = 0.05
    smd_max: float | None = None
    min_group_rows: int = 100
    references: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GateParams:
    """Floors and the champion comparison (``gate:``)."""

    roc_auc_min: float = 0.70
    pr_auc_min: float = 0.45
    brier_max: float = 0.20
    ece_max: float | None = None
    champion: str = "file"
    default_champion: str | None = "1"
    margin: Margins = Margins()
    fairness: FairnessParams = FairnessParams()


@dataclass(frozen=True)
class ExportParams:
    """Checks of the exported ONNX model (``export:``)."""

    parity_tolerance: float = 1e-6
    monotone_rows: int = 500
    monotone_grid: int = 16


@dataclass(frozen=True)
class DriftParams:
    """The drift stage (``drift:``): PSI of a current dataset against the candidate's training reference."""

    source: str = "dataset"
    file: str | None = None
    current_fraction: float = 0.2
    epsilon: float = 1e-4
    warn: float = 0.1
    alert: float = 0.25
    evidently: bool = True


DRIFT_SOURCES = ("dataset", "file", "kafka")


@dataclass(frozen=True)
class Params:
    """All pipeline parameters."""

    model_name: str = MODEL_NAME
    models_dir: str = "models"
    data: DataParams = DataParams()
    train: TrainParams = TrainParams()
    gate: GateParams = GateParams()
    export: ExportParams = ExportParams()
    drift: DriftParams = DriftParams()


def _section(cls: type, raw: Any, where: str) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, Mapping):
        raise PipelineError("PARAMS_INVALID", f"{where}: must be a mapping, got {type(raw).__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise PipelineError("PARAMS_INVALID", f"{where}: unknown keys {unknown} (known: {sorted(known)})")
    values = {}
    for name, value in raw.items():
        kind = known[name].type
        if name == "margin":
            values[name] = _section(Margins, value, f"{where}.{name}")
        elif name == "fairness":
            values[name] = _section(FairnessParams, value, f"{where}.{name}")
        elif name == "references":
            if not isinstance(value or {}, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in (value or {}).items()):
                raise PipelineError("PARAMS_INVALID", f"{where}.{name}: must map attribute names to group names")
            values[name] = dict(value or {})
        elif name == "xgboost":
            if not isinstance(value or {}, Mapping):
                raise PipelineError("PARAMS_INVALID", f"{where}.{name}: must be a mapping")
            values[name] = dict(value or {})
        else:
            values[name] = _coerce(value, str(kind), f"{where}.{name}")
    return cls(**values)


def _coerce(value: Any, kind: str, where: str) -> Any:
    optional = "None" in kind
    if value is None:
        if optional:
            return None
        raise PipelineError("PARAMS_INVALID", f"{where}: must not be null")
    if kind.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise PipelineError("PARAMS_INVALID", f"{where}: must be an integer, got {value!r}")
        return value
    if kind.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PipelineError("PARAMS_INVALID", f"{where}: must be a number, got {value!r}")
        return float(value)
    if kind.startswith("bool"):
        if not isinstance(value, bool):
            raise PipelineError("PARAMS_INVALID", f"{where}: must be true or false, got {value!r}")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # e.g. a version written as 1 instead of "1"
    if not isinstance(value, str):
        raise PipelineError("PARAMS_INVALID", f"{where}: must be a string, got {value!r}")
    return value


def check(params: Params) -> Params:
    """Return ``params`` if every value is in range, else raise ``PipelineError`` naming the key.

    Parameters
    ----------
    params : Params
        Parsed parameters.

    Returns
    -------
    Params
        The same object.
    """
    problems = []
    d, t, g, e = params.data, params.train, params.gate, params.export
    if d.source not in SOURCES:
        problems.append(f"data.source: must be one of {list(SOURCES)}, got {d.source!r}")
    if d.source == "file" and not d.file:
        problems.append("data.file: required when data.source is 'file'")
    if d.rows < 100:
        problems.append(f"data.rows: must be >= 100, got {d.rows}")
    if d.shock_at is not None and not 0.0 < d.shock_at < 1.0:
        problems.append(f"data.shock_at: must be in (0, 1) or null, got {d.shock_at}")
    if d.kafka_timeout_s <= 0:
        problems.append(f"data.kafka_timeout_s: must be > 0, got {d.kafka_timeout_s}")
    if not 0.0 < t.holdout_fraction < 1.0:
        problems.append(f"train.holdout_fraction: must be in (0, 1), got {t.holdout_fraction}")
    unknown_xgb = sorted(set(t.xgboost) - set(XGB_PARAMS))
    if unknown_xgb:
        problems.append(f"train.xgboost: unknown keys {unknown_xgb} (known: {sorted(XGB_PARAMS)})")
    if "base_score" in t.xgboost and t.xgboost["base_score"] != 0.5:
        problems.append("train.xgboost.base_score: must stay 0.5 (see pipeline/model/classifier.py: ONNX parity)")
    for key in ("roc_auc_min", "pr_auc_min", "brier_max"):
        if not 0.0 <= getattr(g, key) <= 1.0:
            problems.append(f"gate.{key}: must be in [0, 1], got {getattr(g, key)}")
    for key in ("roc_auc", "pr_auc", "brier"):
        if getattr(g.margin, key) < 0:
            problems.append(f"gate.margin.{key}: must be >= 0, got {getattr(g.margin, key)}")
    f = g.fairness
    if not 0.0 < f.approve_below <= 1.0:
        problems.append(f"gate.fairness.approve_below: must be in (0, 1] (= DECISION_REVIEW_AT), got {f.approve_below}")
    if not 0.0 <= f.air_min <= 1.0:
        problems.append(f"gate.fairness.air_min: must be in [0, 1], got {f.air_min}")
    if f.air_margin < 0:
        problems.append(f"gate.fairness.air_margin: must be >= 0, got {f.air_margin}")
    if f.smd_max is not None and f.smd_max <= 0:
        problems.append(f"gate.fairness.smd_max: must be > 0 or null, got {f.smd_max}")
    if f.min_group_rows < 1:
        problems.append(f"gate.fairness.min_group_rows: must be >= 1, got {f.min_group_rows}")
    if f.references:
        from pipeline.population.demographics import attributes
        from pipeline.population.synthetic import load_spec

        known = {a.name: a.categories for a in attributes(load_spec())}
        for name, ref in f.references.items():
            if ref not in known.get(name, ()):
                problems.append(f"gate.fairness.references.{name}: {ref!r} is not a category of a demographics attribute of schemas/population.json ({known})")
    if not 0.0 < e.parity_tolerance <= 1e-3:
        problems.append(f"export.parity_tolerance: must be in (0, 1e-3], got {e.parity_tolerance}")
    if e.monotone_rows < 1 or e.monotone_grid < 2:
        problems.append("export.monotone_rows must be >= 1 and export.monotone_grid >= 2")
    dr = params.drift
    if dr.source not in DRIFT_SOURCES:
        problems.append(f"drift.source: must be one of {list(DRIFT_SOURCES)}, got {dr.source!r}")
    if dr.source == "file" and not dr.file:
        problems.append("drift.file: required when drift.source is 'file'")
    if not 0.0 < dr.current_fraction <= 1.0:
        problems.append(f"drift.current_fraction: must be in (0, 1], got {dr.current_fraction}")
    if not 1e-12 <= dr.epsilon <= 0.01:
        problems.append(f"drift.epsilon: must be in [1e-12, 0.01] (as DRIFT_EPSILON), got {dr.epsilon}")
    if not 0.0 <= dr.warn < dr.alert:
        problems.append(f"drift.warn must be >= 0 and below drift.alert, got {dr.warn} / {dr.alert}")
    if problems:
        raise PipelineError("PARAMS_INVALID", "; ".join(problems))
    return params


def parse(raw: Mapping[str, Any] | None) -> Params:
    """Turn the YAML mapping into checked :class:`Params` (missing keys take defaults).

    Parameters
    ----------
    raw : mapping or None
        Content of ``params.yaml``.

    Returns
    -------
    Params

    Raises
    ------
    PipelineError
        ``PARAMS_INVALID`` naming each offending key.

    Examples
    --------
    >>> parse({"gate": {"roc_auc_min": 0.75}}).gate.roc_auc_min
    0.75
    >>> parse({"gate": {"roc_auc_mn": 0.75}})
    Traceback (most recent call last):
    ...
    pipeline.errors.PipelineError: PARAMS_INVALID: gate: unknown keys ['roc_auc_mn'] (known: ['brier_max', 'champion', 'default_champion', 'ece_max', 'fairness', 'margin', 'pr_auc_min', 'roc_auc_min'])
    """
    raw = dict(raw or {})
    sections = {"data": DataParams, "train": TrainParams, "gate": GateParams, "export": ExportParams, "drift": DriftParams}
    top = {name: _coerce(raw.pop(name), "str", name) for name in ("model_name", "models_dir") if name in raw}
    unknown = sorted(set(raw) - set(sections))
    if unknown:
        raise PipelineError("PARAMS_INVALID", f"params: unknown sections {unknown}")
    built = {name: _section(cls, raw.get(name), name) for name, cls in sections.items()}
    return check(Params(**top, **built))


def load(path: Path | str = PARAMS_FILE) -> Params:
    """Read and check a params file; a missing file gives the defaults.

    Parameters
    ----------
    path : path-like, optional
        YAML file; defaults to the repository's ``params.yaml``.

    Returns
    -------
    Params
    """
    path = Path(path)
    if not path.exists():
        return check(Params())
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise PipelineError("PARAMS_INVALID", f"{path}: not valid YAML: {e}") from e
    return parse(raw)


def replace(params: Params, section: str, **changes: Any) -> Params:
    """Return ``params`` with fields of one section replaced (``None`` values are ignored), checked.

    Examples
    --------
    >>> replace(Params(), "data", rows=1000, seed=None).data.rows
    1000
    """
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        return params
    if section == "":
        return check(dataclasses.replace(params, **changes))
    updated = dataclasses.replace(getattr(params, section), **changes)
    return check(dataclasses.replace(params, **{section: updated}))
