"""The offline pipeline on generated data: oracle AUC, gate table, export checks, artifacts the scorer loads."""

from __future__ import annotations

import json
import re

import numpy as np
import onnx
import pytest
from sklearn.metrics import roc_auc_score

from pipeline.artifacts import sha256_bytes
from pipeline.retrain import candidate as candidate_mod
from pipeline.retrain.champion import load_folder
from pipeline.retrain.params import Params
from pipeline.population.features import feature_names
from pipeline.model.onnx_export import onnx_probabilities
from pipeline.stages import export, gate
from pipeline.stages.common import EXIT_ERROR, EXIT_OK


def test_model_auc_is_within_002_of_the_oracle_on_the_holdout_and_both_are_printed(offline_run):
    report = json.loads(offline_run.gate_report.read_text())
    candidate = candidate_mod.load(offline_run.dataset, offline_run.train_dir)
    y = candidate.y_holdout
    model_auc = roc_auc_score(y, candidate.model.predict_proba(candidate.X_holdout.astype(np.float32))[:, 1])
    oracle_auc = roc_auc_score(y, candidate.dataset.true_probability[candidate.holdout_idx])
    assert abs(model_auc - oracle_auc) <= 0.02
    assert report["metrics"]["roc_auc"] == pytest.approx(model_auc, abs=1e-12)
    assert report["metrics"]["oracle_roc_auc"] == pytest.approx(oracle_auc, abs=1e-12)
    printed = offline_run.outputs["gate"]
    assert f"model {model_auc:.4f}, oracle {oracle_auc:.4f}" in printed
    assert "GATE PASSED" in printed and report["passed"] is True


def test_holdout_is_the_latest_rows_and_the_same_as_trained_on(offline_run):
    candidate = candidate_mod.load(offline_run.dataset, offline_run.train_dir)
    t = candidate.dataset.submitted_at
    assert t[candidate.train_idx].max() <= t[candidate.holdout_idx].min()
    assert len(candidate.holdout_idx) == json.loads(offline_run.gate_report.read_text())["holdout"]["rows"] == 4000


def test_the_oracle_from_the_spec_matches_the_recorded_probability(offline_run):
    from pipeline.retrain.dataset import Dataset
    from pipeline.retrain.evaluation import oracle_probability

    ds = candidate_mod.load(offline_run.dataset, offline_run.train_dir).dataset
    without = Dataset(*ds[:4], np.full(ds.rows, np.nan), ds.feature_names)
    idx = np.arange(500)
    computed, source = oracle_probability(without, idx)
    assert source == "population spec"
    np.testing.assert_allclose(computed, ds.true_probability[idx], rtol=1e-12)


def test_exported_model_matches_xgboost_keeps_monotonicity_and_carries_the_metadata_the_scorer_needs(offline_run):
    meta = json.loads((offline_run.candidate / "metadata.json").read_text())
    model_bytes = (offline_run.candidate / "model.onnx").read_bytes()
    candidate = candidate_mod.load(offline_run.dataset, offline_run.train_dir)
    diff = np.abs(onnx_probabilities(model_bytes, candidate.X_holdout) - candidate.model.predict_proba(candidate.X_holdout.astype(np.float32))[:, 1])
    assert diff.max() <= 1e-6 and meta["parity_max_abs_diff"] == pytest.approx(diff.max(), abs=1e-12)
    assert meta["model_sha256"] == sha256_bytes(model_bytes)
    assert meta["feature_names"] == feature_names() and meta["version"] == "candidate"
    assert {o.name for o in onnx.load_from_string(model_bytes).graph.output} >= {meta["output_probability_name"]}
    assert set(meta["metrics"]) >= {"roc_auc", "pr_auc", "brier", "ece", "oracle_roc_auc", "default_rate"}
    assert all(isinstance(v, float) for v in meta["metrics"].values())
    assert meta["training"]["dataset_sha256"] == json.loads(offline_run.dataset_info.read_text())["sha256"]
    assert meta["training"]["window"]["to"] <= meta["training"]["holdout_window"]["from"]
    assert set(meta["reference"]["features"]) == set(feature_names()) and "score" in meta["reference"]
    assert meta["monotone_check"]["violations"] == 0 and "num_late_payments" in meta["monotone_check"]["features"]
    # the monotone constraint, probed independently on the exported model: more late payments never lowers risk
    X = candidate.X_holdout[:300].copy()
    j = feature_names().index("num_late_payments")
    before = onnx_probabilities(model_bytes, X)
    X[:, j] += 2
    assert (onnx_probabilities(model_bytes, X) >= before).all()
    assert load_folder(offline_run.candidate, "test").version == "candidate"  # what a champion check reads


def test_champion_is_scored_on_the_same_holdout(offline_run, tmp_path, capsys):
    # The exported candidate as champion: the same model on the same rows gives the same metrics.
    report = tmp_path / "gate.json"
    code = gate.main(["--dataset", str(offline_run.dataset), "--train-dir", str(offline_run.train_dir), "--report", str(report), "--champion", str(offline_run.candidate)])
    assert code == EXIT_OK
    r = json.loads(report.read_text())
    for metric in ("roc_auc", "pr_auc", "brier"):
        assert r["champion"]["metrics"][metric] == pytest.approx(r["metrics"][metric], abs=1e-6)
    assert "champion vcandidate" in capsys.readouterr().out


def test_a_tighter_champion_margin_refuses_a_worse_candidate(offline_run, tmp_path):
    from pipeline.retrain.champion import Champion
    from pipeline.retrain.params import GateParams, Margins
    from pipeline.model.classifier import XGB_PARAMS

    candidate = candidate_mod.load(offline_run.dataset, offline_run.train_dir)
    # a weaker candidate: 5 shallow trees
    from pipeline.model.classifier import fit

    weak_model = fit(candidate.X_train, candidate.dataset.defaulted[candidate.train_idx], 1, tuple(candidate.info["monotone_constraints"].values()), {**XGB_PARAMS, "n_estimators": 5, "max_depth": 1})
    weak = candidate._replace(model=weak_model)
    champion = Champion("9", offline_run.candidate, "test", {}, (offline_run.candidate / "model.onnx").read_bytes())
    params = Params(gate=GateParams(margin=Margins(roc_auc=0.001, pr_auc=0.001, brier=0.001)))
    result = gate.evaluate(weak, champion, params)
    assert not result.passed
    assert any(name.startswith("roc_auc >= champion v9") for name in result.report["failed"])


def test_export_refuses_a_candidate_the_gate_did_not_pass(offline_run, tmp_path, capsys):
    report = json.loads(offline_run.gate_report.read_text())
    failed = tmp_path / "gate.json"
    failed.write_text(json.dumps({**report, "passed": False, "failed": ["roc_auc >= 0.7"]}))
    out = tmp_path / "candidate"
    code = export.main(["--dataset", str(offline_run.dataset), "--train-dir", str(offline_run.train_dir), "--gate-report", str(failed), "--out", str(out)])
    assert code == EXIT_ERROR
    assert "GATE_NOT_PASSED" in capsys.readouterr().err and not out.exists()


def test_stage_outputs_are_deterministic(offline_run, tmp_path):
    from pipeline.stages import extract, train

    dataset, train_dir = tmp_path / "dataset.csv", tmp_path / "train"
    assert extract.main(["--rows", "20000", "--seed", "7", "--out", str(dataset), "--info", str(tmp_path / "d.json")]) == 0
    assert dataset.read_bytes() == offline_run.dataset.read_bytes()
    assert train.main(["--dataset", str(dataset), "--out", str(train_dir)]) == 0
    assert (train_dir / "model.ubj").read_bytes() == (offline_run.train_dir / "model.ubj").read_bytes()


def test_printed_outputs_name_what_was_written(offline_run):
    assert re.search(r"extract: 20000 rows from generate", offline_run.outputs["extract"])
    assert "ONNX parity max abs diff" in offline_run.outputs["export"]
