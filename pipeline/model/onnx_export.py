"""ONNX export of the XGBoost classifier and the parity check against XGBoost.

The graph has one input, ``features`` (float32 ``[N, n_features]`` in schema feature
order), and the converter's outputs: ``label`` (int64 ``[N]``) and ``probabilities``
(float32 ``[N, 2]``, column 1 = P(default)). Their names are read from the graph,
not assumed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx
import onnxmltools
import onnxruntime as ort
from onnxmltools.convert.common.data_types import FloatTensorType
from xgboost import XGBClassifier

from pipeline.artifacts import sha256_bytes
from pipeline.model.classifier import predict_default

INPUT_NAME = "features"
PARITY_TOLERANCE = 1e-6


class ParityError(AssertionError):
    """The ONNX model's probabilities differ from XGBoost's by more than the tolerance."""


def to_onnx(model: XGBClassifier, n_features: int, metadata: Mapping[str, str], name: str = "xgboost_classifier") -> onnx.ModelProto:
    """Convert a fitted classifier to ONNX (``ai.onnx.ml`` TreeEnsembleClassifier).

    Parameters
    ----------
    model : xgboost.XGBClassifier
        A fitted binary classifier.
    n_features : int
        Number of input columns.
    metadata : mapping of str to str
        Stored as the model's ``metadata_props`` (e.g. the feature names as JSON).
    name : str, optional
        Graph name. The converter would pick a random UUID, which would make the
        bytes (and ``model_sha256``) differ between identical trainings.

    Returns
    -------
    onnx.ModelProto
        A checked model whose tree ensemble's base margin matches XGBoost's.
    """
    proto = onnxmltools.convert_xgboost(
        model, initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))], target_opset=15
    )
    proto.graph.name = name
    onnx.helper.set_model_props(proto, dict(metadata))
    onnx.checker.check_model(proto)
    check_base_margin(model, proto)
    return proto


def xgboost_base_margin(model: XGBClassifier) -> float:
    """Return the booster's base margin, ``logit(base_score)``, from its saved config.

    XGBoost 2 stores ``base_score`` as ``"5E-1"``, XGBoost 3 as ``"[5E-1]"``.

    Parameters
    ----------
    model : xgboost.XGBClassifier
        A fitted ``binary:logistic`` classifier.

    Returns
    -------
    float
        The margin the trees' sum starts from.
    """
    config = json.loads(model.get_booster().save_config())
    text = config["learner"]["learner_model_param"]["base_score"].strip("[]")
    base_score = float(text.split(",")[0])
    return math.log(base_score / (1.0 - base_score))


def onnx_base_margin(proto: onnx.ModelProto) -> float:
    """Return the ``base_values`` of the graph's tree ensemble (0 when absent).

    Parameters
    ----------
    proto : onnx.ModelProto
        A converted model with one TreeEnsembleClassifier node.

    Returns
    -------
    float
        The base margin onnxruntime adds to the trees' sum.
    """
    (node,) = [n for n in proto.graph.node if n.op_type == "TreeEnsembleClassifier"]
    for attribute in node.attribute:
        if attribute.name == "base_values":
            values = list(attribute.floats)
            return float(values[-1]) if values else 0.0
    return 0.0


def split_thresholds(proto: onnx.ModelProto, feature_index: int) -> list[float]:
    """Return the sorted unique split thresholds of one input column in the graph's tree ensemble.

    Parameters
    ----------
    proto : onnx.ModelProto
        A converted model with one TreeEnsembleClassifier node.
    feature_index : int
        Column of the input.

    Returns
    -------
    list of float
        The values the ensemble compares that column with (the model is constant between them).
    """
    (node,) = [n for n in proto.graph.node if n.op_type == "TreeEnsembleClassifier"]
    attributes = {a.name: a for a in node.attribute}
    modes = [m.decode() if isinstance(m, bytes) else str(m) for m in attributes["nodes_modes"].strings]
    features = list(attributes["nodes_featureids"].ints)
    values = list(attributes["nodes_values"].floats)
    return sorted({float(v) for f, v, m in zip(features, values, modes) if f == feature_index and m != "LEAF"})


def check_base_margin(model: XGBClassifier, proto: onnx.ModelProto, tolerance: float = 1e-6) -> None:
    """Raise ``ParityError`` if the ONNX base margin differs from XGBoost's.

    Parameters
    ----------
    model : xgboost.XGBClassifier
        The fitted classifier.
    proto : onnx.ModelProto
        Its converted model.
    tolerance : float, optional
        Largest allowed absolute difference of the margins.
    """
    expected, actual = xgboost_base_margin(model), onnx_base_margin(proto)
    if abs(expected - actual) > tolerance:
        raise ParityError(f"ONNX base margin {actual} != XGBoost base margin {expected} (see onnxmltools #736)")


def _only_output(proto: onnx.ModelProto, elem_type: int, what: str) -> str:
    """Return the name of the one graph output of tensor element type ``elem_type``."""
    names = [o.name for o in proto.graph.output if o.type.tensor_type.elem_type == elem_type]
    if len(names) != 1:
        raise ValueError(f"expected one {what} output, got {names}")
    return names[0]


def probability_output_name(proto: onnx.ModelProto) -> str:
    """Return the name of the float ``[N, 2]`` probabilities output.

    Parameters
    ----------
    proto : onnx.ModelProto
        A converted classifier.

    Returns
    -------
    str
        Name of the only float tensor output.
    """
    return _only_output(proto, onnx.TensorProto.FLOAT, "float")


def label_output_name(proto: onnx.ModelProto) -> str:
    """Return the name of the int64 ``[N]`` label output.

    Parameters
    ----------
    proto : onnx.ModelProto
        A converted classifier.

    Returns
    -------
    str
        Name of the only int64 tensor output.
    """
    return _only_output(proto, onnx.TensorProto.INT64, "int64")


def signature_metadata(proto: onnx.ModelProto, model_bytes: bytes, names: list[str]) -> dict[str, Any]:
    """Return the metadata.json fields that describe the exported model's signature and bytes.

    Parameters
    ----------
    proto : onnx.ModelProto
        The converted classifier.
    model_bytes : bytes
        Its serialized form, as written to model.onnx.
    names : list of str
        Feature names in model input order.

    Returns
    -------
    dict
        ``feature_names``, input name/dtype/shape, output names, ``probability_column``, ``model_sha256``.
    """
    return {
        "feature_names": names,
        "input_name": INPUT_NAME,
        "input_dtype": "float32",
        "input_shape": [None, len(names)],
        "output_probability_name": probability_output_name(proto),
        "output_label_name": label_output_name(proto),
        "probability_column": 1,
        "model_sha256": sha256_bytes(model_bytes),
    }


def onnx_probabilities(model_bytes: bytes, X: np.ndarray, probability_column: int = 1) -> np.ndarray:
    """Score rows with onnxruntime (CPU, one thread).

    Parameters
    ----------
    model_bytes : bytes
        Serialized ONNX model.
    X : numpy.ndarray
        ``[n, n_features]`` features (cast to float32).
    probability_column : int, optional
        Column of the probabilities output to return.

    Returns
    -------
    numpy.ndarray
        float64 probabilities (exactly the float32 values onnxruntime computed).
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    output = probability_output_name(onnx.load_from_string(model_bytes))
    (probabilities,) = session.run([output], {INPUT_NAME: np.asarray(X, dtype=np.float32)})
    return probabilities[:, probability_column].astype(np.float64)


def parity_max_abs_diff(model: XGBClassifier, model_bytes: bytes, X: np.ndarray) -> float:
    """Return max |onnxruntime P(default) - XGBoost predict_proba[:, 1]| over ``X``.

    Parameters
    ----------
    model : xgboost.XGBClassifier
        The fitted classifier.
    model_bytes : bytes
        Its serialized ONNX model.
    X : numpy.ndarray
        Non-empty ``[n, n_features]`` rows to compare on.

    Returns
    -------
    float
        The largest absolute difference.
    """
    return float(np.max(np.abs(onnx_probabilities(model_bytes, X) - predict_default(model, X))))


def assert_parity(max_abs_diff: float, tolerance: float = PARITY_TOLERANCE) -> None:
    """Raise ``ParityError`` if ``max_abs_diff`` exceeds ``tolerance`` (or is NaN).

    Parameters
    ----------
    max_abs_diff : float
        From :func:`parity_max_abs_diff`.
    tolerance : float, optional
        Largest allowed difference.
    """
    if not max_abs_diff <= tolerance:
        raise ParityError(f"ONNX vs XGBoost max abs diff {max_abs_diff:.3g} > {tolerance:.0e}")
