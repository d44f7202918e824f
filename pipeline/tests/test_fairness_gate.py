"""The fairness gate (docs/fairness.md): demographics stay out of the training matrix, the gate measures AIR/SMD per
group on the holdout, refuses a candidate trained to discriminate and passes the normal one; card and MLflow carry it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.fairness.groups import read_csv as read_groups
from pipeline.model import classifier
from pipeline.model.onnx_export import to_onnx
from pipeline.retrain.champion import Champion
from pipeline.population.demographics import attributes
from pipeline.population.features import feature_names
from pipeline.population.synthetic import load_spec
from pipeline.retrain.candidate import Candidate
from pipeline.retrain.generate import generated_with_groups
from pipeline.retrain.params import Params, parse
from pipeline.stages.gate import evaluate
from pipeline.stages.register import run_metrics

ROWS, SEED = 20_000, 5
AIR_CHECK = "air race_ethnicity >= 0.8 (BLACK)"


def test_extract_writes_demographics_apart_and_training_never_sees_them(offline_run):
    header = next(csv.reader(offline_run.dataset.open()))
    names = [a.name for a in attributes(load_spec())]
    assert not set(names) & set(header), header
    assert header == ["application_id", "submitted_at", *feature_names(), "defaulted", "true_probability"]
    groups = read_groups(offline_run.dataset.with_name("demographics.csv"))
    assert sorted(groups.columns) == sorted(names) and groups.rows == 20_000
    # the training matrix: the model's inputs are the schema's features, nothing else
    train_info = json.loads((offline_run.train_dir / "train.json").read_text())
    assert list(train_info["monotone_constraints"]) == feature_names()
    model = classifier.load(offline_run.train_dir / "model.ubj")
    assert model.get_booster().num_features() == len(feature_names())
    metadata = json.loads((offline_run.candidate / "metadata.json").read_text())
    assert metadata["feature_names"] == feature_names()
    # the categories are not encoded into any feature column either
    X = np.loadtxt(offline_run.dataset, delimiter=",", skiprows=1, usecols=range(2, 2 + len(feature_names())))
    assert X.shape[1] == len(feature_names()) and np.isfinite(X).all()
    # the offline run's gate measured fairness, the card shows it
    gate = json.loads(offline_run.gate_report.read_text())
    assert gate["fairness"]["joined"] == gate["holdout"]["rows"]
    assert {c["name"] for c in gate["checks"]} >= {AIR_CHECK, "air sex >= 0.8 (FEMALE)"}
    card = (offline_run.candidate / "model-card.md").read_text()
    assert "## Fair lending" in card and "| race_ethnicity | BLACK |" in card and "elderly-age rule" in card
    metrics = run_metrics(metadata)
    assert metrics["elderly_age_violations"] == 0.0 and 0.8 <= metrics["fairness_race_ethnicity_min_air"] <= 1.2


def test_demographics_correlate_with_the_features_as_specified():
    ds, groups = generated_with_groups(ROWS, SEED)
    g = groups.aligned(ds.application_id)["race_ethnicity"]
    income = ds.X[:, feature_names().index("annual_income")]
    dti = ds.X[:, feature_names().index("debt_to_income_ratio")]
    shares = {c: float((g == c).mean()) for c in set(g)}
    assert 0.55 < shares["WHITE"] < 0.70 and 0.08 < shares["BLACK"] < 0.15
    assert np.median(income[g == "BLACK"]) < 0.95 * np.median(income[g == "WHITE"])
    assert dti[g == "BLACK"].mean() > dti[g == "WHITE"].mean()


@pytest.fixture(scope="module")
def data():
    ds, groups = generated_with_groups(ROWS, SEED)
    train_idx, holdout_idx = classifier.time_split(ds.submitted_at, 0.2)
    return ds, groups, train_idx, holdout_idx


def _fit(X, y):
    return classifier.fit(X, y, SEED, classifier.constraints_for(feature_names(), True), classifier.xgboost_params({"n_estimators": 120}))


def test_the_gate_fails_a_candidate_trained_to_discriminate_and_passes_the_normal_one(data):
    ds, groups, tr, ho = data
    normal = _fit(ds.X[tr], ds.defaulted[tr])
    # Trained to discriminate: half the BLACK applicants' training rows are relabelled defaulted and the group's rows
    # are added three more times as defaults. The model never sees the group, but learns its proxies (income, DTI,
    # history) as risk.
    race = groups.aligned(ds.application_id)["race_ethnicity"]
    y = ds.defaulted.copy()
    y[(race == "BLACK") & (np.random.default_rng(0).random(len(y)) < 0.5)] = 1
    extra = np.repeat(tr[race[tr] == "BLACK"], 3)
    rows = np.concatenate([tr, extra])
    labels = np.concatenate([y[tr], np.ones(len(extra), dtype=y.dtype)])
    biased = _fit(ds.X[rows], labels)
    info = {"seed": SEED, "dataset": {"sha256": "x"}}
    ok = evaluate(Candidate(ds, tr, ho, normal, info), None, Params(), groups)
    bad = evaluate(Candidate(ds, tr, ho, biased, info), None, Params(), groups)
    assert ok.passed, ok.report["failed"]
    assert not bad.passed and bad.report["failed"] == [AIR_CHECK]  # quality floors pass: only fairness refuses it
    air_ok = ok.report["fairness"]["attributes"]["race_ethnicity"]["groups"]["BLACK"]["air"]
    air_bad = bad.report["fairness"]["attributes"]["race_ethnicity"]["groups"]["BLACK"]["air"]
    assert air_bad < 0.8 < air_ok
    assert bad.report["fairness"]["attributes"]["race_ethnicity"]["groups"]["BLACK"]["smd"] > ok.report["fairness"]["attributes"]["race_ethnicity"]["groups"]["BLACK"]["smd"]
    # floors are configurable: a lower floor lets the biased one through the floor check ...
    lenient = parse({"gate": {"fairness": {"air_min": 0.5}}})
    assert evaluate(Candidate(ds, tr, ho, biased, info), None, lenient, groups).passed
    # ... but not past a fairer champion: clearly worse than the champion's AIR on the same rows is refused
    champion = Champion("1", Path("."), "test", {}, to_onnx(normal, len(feature_names()), {}).SerializeToString())
    vs = evaluate(Candidate(ds, tr, ho, biased, info), champion, lenient, groups)
    assert "air race_ethnicity >= champion v1 - 0.05" in vs.report["failed"] and AIR_CHECK not in vs.report["failed"]
    assert vs.report["fairness"]["champion"]["race_ethnicity"]["min_air"] == pytest.approx(air_ok, abs=1e-6)
    assert evaluate(Candidate(ds, tr, ho, normal, info), champion, Params(), groups).passed
    # without demographics the fairness checks are skipped (and said so)
    assert evaluate(Candidate(ds, tr, ho, biased, info), None, Params(), None).report["fairness"] is None


def test_bad_fairness_params_name_the_key():
    from pipeline.errors import PipelineError

    with pytest.raises(PipelineError, match="gate.fairness.air_min"):
        parse({"gate": {"fairness": {"air_min": 1.5}}})
    with pytest.raises(PipelineError, match=r"gate.fairness: unknown keys \['air'\]"):
        parse({"gate": {"fairness": {"air": 0.8}}})
    with pytest.raises(PipelineError, match="gate.fairness.references.sex: 'X' is not a category"):
        parse({"gate": {"fairness": {"references": {"sex": "X"}}}})
    assert parse({"gate": {"fairness": {"references": {"sex": "FEMALE"}}}}).gate.fairness.references == {"sex": "FEMALE"}
