"""A candidate trained on shuffled labels is refused: non-zero exit, failed floors named, nothing registered or announced."""

from __future__ import annotations

import json

import numpy as np

from pipeline.retrain import tracking
from pipeline.retrain.dataset import to_csv_bytes
from pipeline.retrain.generate import generated_dataset
from pipeline.kafka.settings import kafka_settings
from pipeline.kafka.topics import admin_client, topic_exists
from pipeline.stages import gate, retrain
from pipeline.stages.common import EXIT_REFUSED


def _shuffled_csv(path, rows=20_000, seed=11):
    ds = generated_dataset(rows, seed)
    labels = ds.defaulted.copy()
    np.random.default_rng(0).shuffle(labels)
    path.write_bytes(to_csv_bytes(ds._replace(defaulted=labels, true_probability=np.full(ds.rows, np.nan))))
    return ds, labels


def test_gate_stage_refuses_shuffled_labels_naming_the_floors(offline_run, tmp_path, capsys):
    from pipeline.stages import extract, train

    shuffled = tmp_path / "shuffled.csv"
    _shuffled_csv(shuffled)
    dataset, train_dir, report = tmp_path / "dataset.csv", tmp_path / "train", tmp_path / "gate.json"
    assert extract.main(["--source", "file", "--file", str(shuffled), "--out", str(dataset), "--info", str(tmp_path / "d.json")]) == 0
    assert train.main(["--dataset", str(dataset), "--out", str(train_dir)]) == 0
    capsys.readouterr()
    code = gate.main(["--dataset", str(dataset), "--train-dir", str(train_dir), "--report", str(report), "--champion", str(offline_run.candidate)])
    out = capsys.readouterr().out
    assert code == EXIT_REFUSED
    failed_line = [line for line in out.splitlines() if line.startswith("GATE FAILED")][0]
    assert "roc_auc >= 0.7" in failed_line and "pr_auc >= 0.45" in failed_line
    # the champion is scored on the same (shuffled) holdout: it is no better there, so those checks pass
    assert "roc_auc >= champion vcandidate" in out and "champion" not in failed_line
    table = {line.split("  ")[0].strip(): line.split()[-1] for line in out.splitlines() if line.startswith(("roc_auc", "pr_auc", "brier"))}
    assert table["roc_auc >= 0.7"] == "FAIL" and table["pr_auc >= 0.45"] == "FAIL"
    r = json.loads(report.read_text())
    assert r["passed"] is False and 0.45 < r["metrics"]["roc_auc"] < 0.55


def test_retrain_on_shuffled_labels_registers_and_announces_nothing(kafka_stack, unique_topic, mlflow_uri, tmp_path, monkeypatch, capsys):
    topic = unique_topic("model-updates")
    monkeypatch.setenv("TOPIC_MODEL_UPDATES", topic)
    shuffled = tmp_path / "shuffled.csv"
    _shuffled_csv(shuffled)
    models = tmp_path / "models"
    code = retrain.main(["--source", "file", "--file", str(shuffled), "--champion", "kafka", "--models-dir", str(models), "--tracking-uri", mlflow_uri, "--workdir", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert code == EXIT_REFUSED != 0
    assert "GATE FAILED: roc_auc >= 0.7, pr_auc >= 0.45" in out
    # nothing registered ...
    assert tracking.registered_versions(mlflow_uri, "credit-default-classifier") == []
    assert not (models / "credit-default-classifier").exists()
    assert not (tmp_path / "run" / "candidate").exists()
    # ... nothing announced (the topic was never even created) ...
    assert not topic_exists(admin_client(kafka_settings()), topic)
    # ... but the refused run is on record
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_uri)
    experiment = client.get_experiment_by_name("credit-default-classifier")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.tags["gate"] == "rejected" and "pr_auc >= 0.45" in run.data.tags["failed"]
    assert run.data.metrics["roc_auc"] < 0.6
