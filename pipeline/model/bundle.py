"""The one writer of a model bundle: the folder a scorer loads (``model.onnx`` + ``metadata.json`` + ...).

Both the initial model (``python -m pipeline.train_initial``) and the batch pipeline's export stage
(``python -m pipeline.stages.export``) call :func:`write_bundle`; nothing else writes a bundle.

A bundle folder holds:

``model.onnx``
    The classifier converted to ONNX (:mod:`pipeline.model.onnx_export`); graph name and ``metadata_props``
    fixed so identical trainings give identical bytes.
``golden.json``
    Up to :data:`GOLDEN_ROWS` holdout rows (float32-rounded) with XGBoost's probabilities; the
    TypeScript parity test (``test/model/onnx-parity.test.ts``) replays them through onnxruntime-node.
``metadata.json`` (written last: its presence marks a complete bundle)
    ``name``, ``version``, the ONNX signature (:func:`pipeline.model.onnx_export.signature_metadata`:
    ``feature_names``, ``input_name``, ``output_probability_name``, ``probability_column``,
    ``model_sha256``), ``training``, ``metrics``, ``parity_max_abs_diff``, ``reference`` (decile bins and
    samples of every feature and of the score, for the drift monitor), plus the caller's extra fields
    (``created_at``, ``gate``, ``monotone_check``, ...). The scorer reads it with
    ``services/scorer/model/metadata.ts``; the drift monitor reads ``reference``.
extra artefacts
    Whatever :class:`Artefact` objects the caller passes (``extras``), each one file written before
    ``metadata.json``; an artefact may also add top-level metadata fields (e.g. where its file is and
    its hash).

Nothing is written unless onnxruntime and XGBoost agree within the tolerance on every holdout row, unless
the exported bytes obey Regulation B's elderly-age rule (:func:`elderly_age_check`, every bundle), and
unless every ``checks`` hook passes on the exported bytes (the export stage re-checks monotonicity).
The outputs depend only on the inputs (seeded sampling), so a DVC stage that writes a bundle is
reproducible.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from xgboost import XGBClassifier

from pipeline.artifacts import write_bytes_atomic, write_json_atomic
from pipeline.fairness import elderly
from pipeline.model.classifier import predict_default
from pipeline.model.onnx_export import PARITY_TOLERANCE, ParityError, assert_parity, onnx_probabilities, parity_max_abs_diff, signature_metadata, split_thresholds, to_onnx
from pipeline.model.reference import reference_distribution

MODEL_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
GOLDEN_FILE = "golden.json"
GOLDEN_ROWS = 200
"""Holdout rows kept in ``golden.json``."""
ELDERLY_ROWS = 500
"""Holdout rows the elderly-age rule is checked on (each scored at every whole age and age threshold)."""
BINNING_DOC = (
    "edges: sorted unique inverted_cdf 10%..90% quantiles of the training values (9 edges, fewer when a "
    "discrete feature repeats quantiles); bin index = number of edges <= x (bisect_right), so there are "
    "len(edges)+1 bins: bin 0 is x < edges[0], bin i is edges[i-1] <= x < edges[i], the last is x >= edges[-1]; "
    "proportions are over finite training values, one per bin"
)


@dataclass(frozen=True)
class BundleInput:
    """What a bundle is made from.

    Attributes
    ----------
    name, version : str
        Model name (``metadata.name``, the ONNX graph name) and version (``metadata.version``).
    model : xgboost.XGBClassifier
        The fitted classifier.
    feature_names : list of str
        Model input order (the Avro schema's feature order).
    X_train, X_holdout : numpy.ndarray
        Training features (reference distributions) and holdout features (parity, golden rows).
    seed : int
        Seeds the reference samples and the choice of golden rows.
    training : dict
        ``metadata.training``.
    metrics : dict
        ``metadata.metrics`` (holdout metrics; floats).
    metadata : dict, optional
        Further top-level metadata fields (``created_at``, ``gate``, ...); placed after ``version``
        when they are listed in :data:`LEADING_FIELDS`, else after ``parity_max_abs_diff``.
    parity_tolerance : float, optional
        Largest allowed ``|onnxruntime - XGBoost|`` on a holdout row.
    """

    name: str
    version: str
    model: XGBClassifier
    feature_names: list[str]
    X_train: np.ndarray
    X_holdout: np.ndarray
    seed: int
    training: dict[str, Any]
    metrics: dict[str, float]
    metadata: dict[str, Any] = field(default_factory=dict)
    parity_tolerance: float = PARITY_TOLERANCE


LEADING_FIELDS = ("created_at",)
"""Extra metadata fields written right after ``version`` (the rest go after ``parity_max_abs_diff``)."""


@dataclass(frozen=True)
class Exported:
    """The exported model, as the hooks see it.

    Attributes
    ----------
    input : BundleInput
        What the bundle is made from.
    proto : onnx.ModelProto
        The converted model.
    model_bytes : bytes
        Exactly the bytes written to ``model.onnx``.
    parity_max_abs_diff : float
        Measured on every holdout row.
    golden_X : numpy.ndarray
        The rows of ``golden.json`` (float32 values as float64), in file order.
    """

    input: BundleInput
    proto: onnx.ModelProto
    model_bytes: bytes
    parity_max_abs_diff: float
    golden_X: np.ndarray


@dataclass(frozen=True)
class Artefact:
    """One extra file of the bundle (e.g. the XGBoost trees for explanations, a model card).

    Attributes
    ----------
    filename : str
        Name inside the bundle folder (no directories).
    content : callable
        ``content(exported, metadata)`` returns the file's bytes, or a JSON-serialisable value (written
        as JSON). ``metadata`` is a copy of ``metadata.json`` as assembled so far: every field except
        those of later artefacts (a model card listed last sees all of them).
    metadata : callable, optional
        ``metadata(exported, data)`` returns top-level metadata fields to add (``data`` is the bytes
        written), e.g. ``{"trees_sha256": ...}``. A field that is already set is an error, never
        overwritten.
    """

    filename: str
    content: Callable[[Exported, Mapping[str, Any]], bytes | Any]
    metadata: Callable[[Exported, bytes], Mapping[str, Any]] | None = None


Check = Callable[[Exported], Mapping[str, Any]]
"""A check on the exported model: returns top-level metadata fields recording what it checked, or raises
:class:`pipeline.model.onnx_export.ParityError` (nothing is written)."""

GoldenFields = Callable[[Exported], Mapping[str, Any]]
"""Adds fields to ``golden.json`` computed on ``exported.golden_X`` (e.g. XGBoost's ``pred_contribs``
of the golden rows); a field that is already set is an error."""


def reference(model: XGBClassifier, names: list[str], X_train: np.ndarray, seed: int) -> dict[str, Any]:
    """Return ``metadata.reference``: the decile bins and samples of each feature and of the score.

    Parameters
    ----------
    model : xgboost.XGBClassifier
        Scores the training rows (the score's reference).
    names : list of str
        Feature names in column order.
    X_train : numpy.ndarray
        Training features.
    seed : int
        Seeds the samples (one generator, features in order, then the score).
    """
    rng = np.random.default_rng(seed)
    return {
        "binning": BINNING_DOC,
        "features": {n: reference_distribution(X_train[:, i], rng) for i, n in enumerate(names)},
        "score": reference_distribution(predict_default(model, X_train), rng),
    }


def golden_rows(X_holdout: np.ndarray, seed: int, rows: int = GOLDEN_ROWS) -> np.ndarray:
    """Return up to ``rows`` holdout rows (seeded choice, in holdout order), rounded to float32.

    Examples
    --------
    >>> golden_rows(np.array([[0.1], [1.0], [2.0], [3.0]]), seed=0, rows=2).shape
    (2, 1)
    """
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(X_holdout), size=min(rows, len(X_holdout)), replace=False))
    return np.asarray(X_holdout)[idx].astype(np.float32).astype(np.float64)


def golden(model: XGBClassifier, names: list[str], golden_X: np.ndarray) -> dict[str, Any]:
    """Return ``golden.json``: the golden rows with XGBoost's P(default).

    Examples
    --------
    >>> from pipeline.model.classifier import fit
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]] * 10); y = np.array([0, 0, 1, 1] * 10)
    >>> g = golden(fit(X, y, 0, (0,), {"n_estimators": 2}), ["x"], golden_rows(X, seed=0, rows=3))
    >>> g["feature_names"], g["input_dtype"], len(g["rows"]), len(g["probabilities"])
    (['x'], 'float32', 3, 3)
    """
    return {"feature_names": list(names), "input_dtype": "float32", "rows": golden_X.tolist(), "probabilities": predict_default(model, golden_X).tolist()}


def export(inp: BundleInput) -> Exported:
    """Convert to ONNX and measure parity on every holdout row; raise ``ParityError`` beyond the tolerance."""
    names = list(inp.feature_names)
    proto = to_onnx(inp.model, len(names), {"feature_names": json.dumps(names), "name": inp.name}, name=inp.name)
    model_bytes = proto.SerializeToString()
    parity = parity_max_abs_diff(inp.model, model_bytes, inp.X_holdout)
    assert_parity(parity, inp.parity_tolerance)
    return Exported(inp, proto, model_bytes, parity, golden_rows(inp.X_holdout, inp.seed))


def elderly_age_check(exported: Exported) -> dict[str, Any]:
    """The check every bundle passes: Regulation B's elderly-age rule on the exported ONNX bytes.

    Up to :data:`ELDERLY_ROWS` holdout rows (seeded choice) are scored by onnxruntime at every whole age of
    the valid range and every split threshold of the ONNX trees on age (:mod:`pipeline.fairness.elderly`);
    the probability must never rise within the elderly range or from a younger age into it.

    Returns
    -------
    dict
        ``{"elderly_age_check": ...}`` (nothing when the model has no age feature).

    Raises
    ------
    pipeline.model.onnx_export.ParityError
        ``ELDERLY_AGE_RULE`` with the counts, when the rule is broken (nothing is written).
    """
    names = list(exported.input.feature_names)
    elderly_rule = elderly.rule()
    if elderly_rule.feature not in names:
        return {}
    X = np.asarray(exported.input.X_holdout)
    rows = X[np.sort(np.random.default_rng(exported.input.seed).choice(len(X), size=min(ELDERLY_ROWS, len(X)), replace=False))]
    thresholds = split_thresholds(exported.proto, names.index(elderly_rule.feature))
    result = elderly.check(lambda Z: onnx_probabilities(exported.model_bytes, Z), rows, names, elderly_rule, thresholds)
    if result.violations:
        raise ParityError(f"ELDERLY_AGE_RULE: the exported model raises P(default) with age from {elderly_rule.elderly_from:g} on "
                          f"({result.rises_within} rising steps within, {result.rows_rising_into} of {result.rows} rows rising into the elderly range, "
                          f"worst +{result.worst:.3g}); train with fair_lending.model_monotone (schemas/population.json)")
    return {"elderly_age_check": elderly.record(result, elderly_rule)}


def _add(metadata: dict[str, Any], fields: Mapping[str, Any], who: str) -> None:
    clash = sorted(set(fields) & set(metadata))
    if clash:
        raise ValueError(f"{who} sets metadata fields that are already set: {clash}")
    metadata.update(fields)


def _as_bytes(value: bytes | Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return (json.dumps(value, indent=2, allow_nan=False) + "\n").encode("utf-8")


def write_bundle(
    inp: BundleInput,
    out: Path,
    extras: Sequence[Artefact] = (),
    checks: Sequence[Check] = (),
    golden_fields: Sequence[GoldenFields] = (),
    clean: bool = False,
) -> dict[str, Any]:
    """Export, check and write a bundle into ``out``; return the content of ``metadata.json``.

    Parameters
    ----------
    inp : BundleInput
        The model and the data it was trained and held out on.
    out : pathlib.Path
        Bundle folder (created if missing).
    extras : sequence of Artefact, optional
        Further files of the bundle, written after ``model.onnx`` and ``golden.json`` and before
        ``metadata.json``.
    checks : sequence of callable, optional
        Checks on the exported model (see :data:`Check`), run before anything is written, after
        :func:`elderly_age_check`.
    golden_fields : sequence of callable, optional
        Further fields of ``golden.json`` (see :data:`GoldenFields`).
    clean : bool, optional
        Remove ``out`` first (a DVC output must hold exactly what this run wrote).

    Returns
    -------
    dict
        The metadata written.

    Raises
    ------
    pipeline.model.onnx_export.ParityError
        When parity or a check fails (nothing is written).
    ValueError
        When an extra field or artefact would overwrite another one.
    """
    exported = export(inp)
    checked: dict[str, Any] = {}
    for check in (elderly_age_check, *checks):
        _add(checked, check(exported), "a check")
    leading = {k: v for k, v in inp.metadata.items() if k in LEADING_FIELDS}
    trailing = {k: v for k, v in inp.metadata.items() if k not in LEADING_FIELDS}
    metadata: dict[str, Any] = {
        "name": inp.name,
        "version": inp.version,
        **leading,
        **signature_metadata(exported.proto, exported.model_bytes, list(inp.feature_names)),
        "training": inp.training,
        "metrics": {k: float(v) for k, v in inp.metrics.items()},
    }
    _add(metadata, trailing, "BundleInput.metadata")
    _add(metadata, {"parity_max_abs_diff": exported.parity_max_abs_diff}, "the parity check")
    _add(metadata, checked, "a check")
    golden_doc = golden(inp.model, list(inp.feature_names), exported.golden_X)
    for add_fields in golden_fields:
        _add(golden_doc, add_fields(exported), "a golden.json hook")
    files = {MODEL_FILE: exported.model_bytes, GOLDEN_FILE: _as_bytes(golden_doc)}
    ref = reference(inp.model, list(inp.feature_names), inp.X_train, inp.seed)
    for artefact in extras:
        if "/" in artefact.filename or artefact.filename in files or artefact.filename == METADATA_FILE:
            raise ValueError(f"artefact file name {artefact.filename!r} is not a new plain file name in the bundle")
        files[artefact.filename] = _as_bytes(artefact.content(exported, copy.deepcopy({**metadata, "reference": ref})))
        if artefact.metadata is not None:
            _add(metadata, artefact.metadata(exported, files[artefact.filename]), f"artefact {artefact.filename}")
    _add(metadata, {"reference": ref}, "the reference")
    if clean and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    for filename, data in files.items():
        write_bytes_atomic(out / filename, data)
    write_json_atomic(out / METADATA_FILE, metadata)
    return metadata
