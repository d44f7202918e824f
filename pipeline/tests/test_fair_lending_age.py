"""Regulation B's elderly-age rule (docs/fairness.md): every model the project trains is non-increasing in age,
the bundle writer checks it on the exported ONNX bytes and refuses a model that breaks it, and so does the gate."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.fairness import elderly
from pipeline.model import classifier
from pipeline.model.bundle import BundleInput, write_bundle
from pipeline.model.onnx_export import ParityError, onnx_probabilities
from pipeline.population.features import feature_names
from pipeline.retrain.candidate import Candidate
from pipeline.retrain.generate import generated_dataset
from pipeline.retrain.params import Params
from pipeline.stages.gate import evaluate

ROWS, SEED = 20_000, 5


@pytest.fixture(scope="module")
def data():
    ds = generated_dataset(ROWS, SEED)
    train_idx, holdout_idx = classifier.time_split(ds.submitted_at, 0.2)
    return ds, train_idx, holdout_idx


def _fit(data, constraints):
    ds, train_idx, _ = data
    return classifier.fit(ds.X[train_idx], ds.defaulted[train_idx], SEED, constraints, classifier.xgboost_params({"n_estimators": 120}))


@pytest.fixture(scope="module")
def unconstrained(data):
    """A model free to learn the population's U-shaped age risk (risk rising past 45): what the rule forbids."""
    return _fit(data, (0,) * len(feature_names()))


@pytest.fixture(scope="module")
def constrained(data):
    """The model as every training builds it (constraints_for, with the population's constraints off)."""
    return _fit(data, classifier.constraints_for(feature_names(), False))


def _bundle(model, data, name="m"):
    ds, train_idx, holdout_idx = data
    return BundleInput(name, "1", model, feature_names(), ds.X[train_idx], ds.X[holdout_idx], SEED, {}, {"roc_auc": 0.0})


def test_training_always_adds_the_age_constraint():
    names = feature_names()
    for monotone in (True, False):
        assert dict(zip(names, classifier.constraints_for(names, monotone)))["age"] == -1
    assert elderly.rule() == elderly.ElderlyRule("age", 62.0)


def test_the_initial_model_obeys_the_rule_on_its_onnx_bytes(trained):
    out, result = trained
    names = feature_names()
    assert result.metadata["training"]["monotone_constraints"]["age"] == -1
    check = result.metadata["elderly_age_check"]
    assert check["violations"] == 0 and check["rows"] == 500 and check["points"] >= 103
    # its card states the rule, and the holdout's disparity by group (from the generated demographics)
    card = (out / "model-card.md").read_text()
    assert "Regulation B elderly-age rule" in card and "0 violations" in card and "| race_ethnicity | BLACK |" in card
    assert 0.8 < result.metadata["fairness"]["attributes"]["race_ethnicity"]["min_air"] < 1.0
    # again, independently: 55..90 on holdout rows through onnxruntime, nothing rises past 62 or into it
    model_bytes = (out / "model.onnx").read_bytes()
    rows = result.population.X[result.holdout_idx][:150]
    ages = np.arange(55.0, 91.0)
    Z = np.repeat(rows[None], len(ages), axis=0)
    Z[:, :, names.index("age")] = ages[:, None]
    p = onnx_probabilities(model_bytes, Z.reshape(-1, len(names))).reshape(len(ages), -1)
    old = ages >= 62
    assert (np.diff(p[old], axis=0) <= 0).all()
    assert (p[old].max(axis=0) <= p[~old].min(axis=0)).all()


def test_the_check_finds_the_unconstrained_model_and_the_writer_refuses_it(unconstrained, constrained, data, tmp_path):
    ds, _, holdout_idx = data
    names = feature_names()
    score = lambda m: (lambda Z: classifier.predict_default(m, Z))  # noqa: E731
    bad = elderly.check(score(unconstrained), ds.X[holdout_idx][:200], names, elderly.rule(), classifier.split_thresholds(unconstrained, 0))
    good = elderly.check(score(constrained), ds.X[holdout_idx][:200], names, elderly.rule(), classifier.split_thresholds(constrained, 0))
    assert bad.rows_rising_into > 100 and bad.rises_within > 0 and bad.worst > 0.01
    assert good.violations == 0
    with pytest.raises(ParityError, match="ELDERLY_AGE_RULE"):
        write_bundle(_bundle(unconstrained, data), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    metadata = write_bundle(_bundle(constrained, data), tmp_path / "good")
    assert metadata["elderly_age_check"]["violations"] == 0


def test_the_gate_refuses_a_candidate_that_raises_risk_with_age(unconstrained, constrained, data):
    ds, train_idx, holdout_idx = data
    info = {"seed": SEED, "dataset": {"sha256": "x"}}
    refused = evaluate(Candidate(ds, train_idx, holdout_idx, unconstrained, info), None, Params())
    passed = evaluate(Candidate(ds, train_idx, holdout_idx, constrained, info), None, Params())
    name = "age >= 62 never raises risk (violations)"
    assert name in refused.report["failed"] and refused.report["elderly_age_check"]["violations"] > 0
    assert name not in passed.report["failed"] and passed.report["elderly_age_check"]["violations"] == 0
