"""The initial model: ONNX parity, metadata, metrics, reference distributions."""

import json

import numpy as np
import onnx
import pytest
from sklearn.metrics import roc_auc_score
from xgboost import XGBClassifier

from pipeline.artifacts import sha256_bytes
from pipeline.population.features import feature_names
from pipeline.model.classifier import predict_default
from pipeline.model.onnx_export import (
    ParityError,
    assert_parity,
    check_base_margin,
    onnx_base_margin,
    onnx_probabilities,
    parity_max_abs_diff,
    to_onnx,
    xgboost_base_margin,
)
from pipeline.population.synthetic import generate
from pipeline.model.reference import bin_index
from pipeline.train_initial import main


def _model_bytes(out):
    return (out / "model.onnx").read_bytes()


def test_onnx_matches_xgboost_on_the_holdout(trained):
    out, result = trained
    X_holdout = result.population.X[result.holdout_idx]
    assert len(X_holdout) >= 1000
    onnx_p = onnx_probabilities(_model_bytes(out), X_holdout)
    xgb_p = result.model.predict_proba(X_holdout.astype(np.float32))[:, 1]
    diff = np.abs(onnx_p - xgb_p).max()
    assert diff <= 1e-6
    assert diff == pytest.approx(result.metadata["parity_max_abs_diff"], abs=1e-12)
    assert np.std(onnx_p) > 0.05  # a real model, not a constant


def test_golden_rows_reproduce_with_onnxruntime(trained):
    out, result = trained
    golden = json.loads((out / "golden.json").read_text())
    rows = np.array(golden["rows"])
    assert rows.shape == (200, len(feature_names()))
    holdout = {tuple(r) for r in result.population.X[result.holdout_idx].astype(np.float32).tolist()}
    assert all(tuple(np.float32(rows[i])) in holdout for i in range(len(rows)))
    assert np.abs(onnx_probabilities(_model_bytes(out), rows) - np.array(golden["probabilities"])).max() <= 1e-6


def test_onnx_graph_io_matches_metadata(trained):
    out, result = trained
    meta = result.metadata
    proto = onnx.load(str(out / "model.onnx"))
    (graph_input,) = proto.graph.input
    assert graph_input.name == meta["input_name"] == "features"
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = graph_input.type.tensor_type.shape.dim
    assert len(dims) == 2 and dims[1].dim_value == len(feature_names())
    outputs = {o.name: o.type.tensor_type for o in proto.graph.output}
    assert outputs[meta["output_probability_name"]].elem_type == onnx.TensorProto.FLOAT
    assert outputs[meta["output_probability_name"]].shape.dim[1].dim_value == 2
    assert outputs[meta["output_label_name"]].elem_type == onnx.TensorProto.INT64
    assert meta["probability_column"] == 1
    assert meta["model_sha256"] == sha256_bytes(_model_bytes(out))


def test_metadata_file_has_the_agreed_shape(trained):
    out, _ = trained
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["name"] == "credit-default-classifier" and meta["version"] == "1"
    assert set(meta["training"]) >= {"rows", "seed", "data_sha256", "window"}
    assert set(meta["metrics"]) >= {"roc_auc", "pr_auc", "brier", "ece", "oracle_roc_auc", "default_rate"}
    assert meta["training"]["window"]["to"] <= meta["training"]["holdout_window"]["from"]
    assert set(meta["reference"]) >= {"features", "score"}


def test_model_roc_auc_is_within_002_of_the_oracle(trained):
    _, result = trained
    y = result.population.defaulted[result.holdout_idx]
    model_auc = roc_auc_score(y, predict_default(result.model, result.population.X[result.holdout_idx]))
    oracle_auc = roc_auc_score(y, result.population.probability[result.holdout_idx])
    assert abs(model_auc - oracle_auc) <= 0.02
    assert model_auc == pytest.approx(result.metadata["metrics"]["roc_auc"])
    assert oracle_auc == pytest.approx(result.metadata["metrics"]["oracle_roc_auc"])
    assert 0.15 <= result.metadata["metrics"]["default_rate"] <= 0.25


def test_time_split_trains_on_the_past(trained):
    _, result = trained
    t = result.population.submitted_at
    assert t[result.train_idx].max() <= t[result.holdout_idx].min()
    assert len(result.train_idx) == result.metadata["training"]["rows"]
    assert sorted(np.concatenate([result.train_idx, result.holdout_idx]).tolist()) == list(range(len(t)))


def _check_reference(ref, values):
    edges = np.array(ref["edges"])
    proportions = np.array(ref["proportions"])
    assert 1 <= len(edges) <= 9 and (np.diff(edges) > 0).all()
    assert len(proportions) == len(edges) + 1
    assert proportions.sum() == pytest.approx(1.0, abs=1e-12) and (proportions >= 0).all()
    expected = np.bincount(bin_index(values, edges), minlength=len(edges) + 1) / len(values)
    np.testing.assert_allclose(proportions, expected, atol=1e-12)
    assert ref["missing_proportion"] == 0.0
    assert len(ref["sample"]) == min(2000, len(values))
    assert set(ref["sample"]) <= set(values.tolist())


def test_reference_bins_are_consistent_with_edges_and_training_data(trained):
    _, result = trained
    reference = result.metadata["reference"]
    X_train = result.population.X[result.train_idx]
    for j, name in enumerate(feature_names()):
        _check_reference(reference["features"][name], X_train[:, j])
    for name in ("annual_income", "debt_to_income_ratio", "loan_amount"):  # continuous: ten ~10% bins
        assert len(reference["features"][name]["edges"]) == 9
        np.testing.assert_allclose(reference["features"][name]["proportions"], 0.1, atol=0.002)
    _check_reference(reference["score"], predict_default(result.model, X_train))


def test_trained_model_respects_monotone_constraints(trained):
    out, result = trained
    names = feature_names()
    X = result.population.X[result.holdout_idx][:2000]
    p0 = onnx_probabilities(_model_bytes(out), X)
    for name, sign in result.metadata["training"]["monotone_constraints"].items():
        if sign == 0:
            continue
        bumped = X.copy()
        bumped[:, names.index(name)] *= 1.5 if name != "num_late_payments" else 1
        bumped[:, names.index(name)] += 1
        assert (sign * (onnx_probabilities(_model_bytes(out), bumped) - p0) >= 0).all(), name
    assert result.metadata["training"]["monotone_constraints"]["num_late_payments"] == 1


def test_parity_failures_are_loud():
    with pytest.raises(ParityError):
        assert_parity(2e-6)
    with pytest.raises(ParityError):
        assert_parity(float("nan"))
    assert_parity(1e-6)


def test_converter_carries_an_estimated_base_score_and_tampering_is_caught():
    X, _, y, _ = generate(3000, seed=5)
    model = XGBClassifier(n_estimators=30, max_depth=3, n_jobs=2, random_state=0)  # base_score estimated
    model.fit(X.astype(np.float32), y)
    assert abs(xgboost_base_margin(model)) > 0.5  # ~logit(0.2), not 0
    proto = to_onnx(model, X.shape[1], {})
    assert onnx_base_margin(proto) == pytest.approx(xgboost_base_margin(model), abs=1e-6)
    assert parity_max_abs_diff(model, proto.SerializeToString(), X) <= 1e-6
    (node,) = proto.graph.node
    (attribute,) = [a for a in node.attribute if a.name == "base_values"]
    attribute.floats[0] += 0.01
    with pytest.raises(ParityError):
        check_base_margin(model, proto)
    assert parity_max_abs_diff(model, proto.SerializeToString(), X) > 1e-6


def test_cli_is_deterministic_under_seed(tmp_path, capsys):
    for run in ("a", "b"):
        assert main(["--out", str(tmp_path / run / "3"), "--rows", "4000", "--seed", "3"]) == 0
    assert "ROC-AUC" in capsys.readouterr().out
    a, b = (json.loads((tmp_path / run / "3" / "metadata.json").read_text()) for run in ("a", "b"))
    assert a["version"] == "3"
    assert a["model_sha256"] == b["model_sha256"]
    assert a["training"]["data_sha256"] == b["training"]["data_sha256"]
    assert a["reference"] == b["reference"]
    assert (tmp_path / "a" / "3" / "golden.json").read_bytes() == (tmp_path / "b" / "3" / "golden.json").read_bytes()
