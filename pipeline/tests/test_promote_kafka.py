"""Register + promote + rollback on a real broker: decodable ModelUpdate records on a compacted topic."""

from __future__ import annotations

import json

from confluent_kafka.admin import ConfigResource

from pipeline.artifacts import sha256_bytes
from pipeline.retrain import tracking
from pipeline.retrain.layout import folder_of_uri
from pipeline.kafka.consume import read_topic
from pipeline.kafka.records import RECORD_NAMES
from pipeline.kafka.registry import Decoded, SchemaRegistry
from pipeline.kafka.settings import kafka_settings
from pipeline.kafka.topics import admin_client
from pipeline.stages import promote, register
from pipeline.stages.common import EXIT_ERROR, EXIT_OK

NAME = "credit-default-classifier"


def _records(topic):
    settings = kafka_settings()
    registry = SchemaRegistry(settings.registry_url)  # a fresh client: ids resolved through the registry
    out = []
    for record in read_topic(settings, topic, timeout_s=30):
        decoded = registry.decode(record.value, RECORD_NAMES["model-update"])
        assert isinstance(decoded, Decoded), decoded
        out.append((record.key, decoded.value))
    return out


def test_promote_publishes_a_decodable_model_update_and_rollback_reannounces_the_previous(offline_run, kafka_stack, unique_topic, mlflow_uri, tmp_path, monkeypatch, capsys):
    topic = unique_topic("model-updates")
    monkeypatch.setenv("TOPIC_MODEL_UPDATES", topic)
    models = tmp_path / "models"
    common = ["--models-dir", str(models), "--tracking-uri", mlflow_uri]
    for _ in range(2):  # the same candidate registered twice: versions 1 and 2
        assert register.main(["--candidate", str(offline_run.candidate), "--train-dir", str(offline_run.train_dir), "--dataset-info", str(offline_run.dataset_info), *common]) == EXIT_OK
    registered = tracking.registered_versions(mlflow_uri, NAME)
    assert sorted(v.tags["served_version"] for v in registered) == ["1", "2"]
    meta = json.loads((models / NAME / "2" / "metadata.json").read_text())
    assert meta["version"] == "2" and meta["created_at"]

    # Without an approval nothing is announced: who and why are required.
    assert promote.main(["--version", "1", *common]) == EXIT_ERROR
    assert promote.main(["--version", "1", "--approved-by", "ana", *common]) == EXIT_ERROR
    assert "APPROVAL_REQUIRED" in capsys.readouterr().err
    assert promote.main(["--version", "1", "--approved-by", "ana", "--reason", "first champion", *common]) == EXIT_OK
    assert promote.main(["--version", "2", "--approved-by", "ben", "--reason", "better", *common]) == EXIT_OK
    assert promote.main(["--rollback", "--approved-by", "ana", "--reason", "v2 regressed", *common]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"on {topic} [0@2]" in out

    records = _records(topic)
    assert [k for k, _ in records] == [NAME.encode()] * 3
    (_, first), (_, second), (_, third) = records
    assert (first["action"], first["version"], first["previous_version"]) == ("PROMOTE", "1", None)
    assert (second["action"], second["version"], second["previous_version"], second["reason"]) == ("PROMOTE", "2", "1", "better")
    assert (third["action"], third["version"], third["previous_version"]) == ("ROLLBACK", "1", "2")
    assert (second["approval"]["approved_by"], second["approval"]["reason"], second["approval"]["mode"]) == ("ben", "better", "MANUAL")
    assert second["approval"]["evidence"]["gate"].startswith("passed")
    assert third["approval"]["reason"] == "v2 regressed" and third["approval"]["approved_at"] > 0
    for value in records:
        update = value[1]
        folder = folder_of_uri(update["artifact_uri"])
        assert folder == models / NAME / update["version"]
        assert update["sha256"] == sha256_bytes((folder / "model.onnx").read_bytes())
        assert update["metrics"]["roc_auc"] == meta["metrics"]["roc_auc"] and update["announced_at"] > 0

    champion = json.loads((models / NAME / "champion.json").read_text())
    assert champion["version"] == "1" and champion["action"] == "ROLLBACK"
    assert [h["version"] for h in champion["history"]] == ["1", "2", "1"]
    assert champion["published"] == {"topic": topic, "partition": 0, "offset": 2}
    mlflow_v1 = next(v.version for v in registered if v.tags["served_version"] == "1")
    from mlflow import MlflowClient

    assert MlflowClient(tracking_uri=mlflow_uri).get_model_version_by_alias(NAME, "champion").version == mlflow_v1
    tags = MlflowClient(tracking_uri=mlflow_uri).get_model_version(NAME, mlflow_v1).tags
    assert (tags["approval.approved_by"], tags["approval.reason"], tags["approval.mode"]) == ("ana", "v2 regressed", "MANUAL")

    # the topic was created from infra/topics.json: one partition, compacted
    admin = admin_client(kafka_settings())
    metadata = admin.list_topics(topic, timeout=10)
    assert len(metadata.topics[topic].partitions) == 1
    (config,) = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)]).values()
    assert config.result(timeout=10)["cleanup.policy"].value == "compact"


def test_promote_refuses_a_tampered_artifact_and_publishes_nothing(offline_run, kafka_stack, unique_topic, mlflow_uri, tmp_path, monkeypatch, capsys):
    topic = unique_topic("model-updates")
    monkeypatch.setenv("TOPIC_MODEL_UPDATES", topic)
    models = tmp_path / "models"
    common = ["--models-dir", str(models), "--tracking-uri", mlflow_uri]
    assert register.main(["--candidate", str(offline_run.candidate), *common]) == EXIT_OK
    onnx_path = models / NAME / "1" / "model.onnx"
    onnx_path.write_bytes(onnx_path.read_bytes() + b"\0")
    approved = ["--approved-by", "ana", "--reason", "test"]
    assert promote.main(["--version", "1", *approved, *common]) == EXIT_ERROR
    assert "CHAMPION_INVALID" in capsys.readouterr().err
    assert promote.main(["--version", "7", *approved, *common]) == EXIT_ERROR  # no such version
    assert _records(topic) == []
    assert not (models / NAME / "champion.json").exists()


def test_rollback_without_a_previous_champion_is_refused(kafka_stack, unique_topic, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TOPIC_MODEL_UPDATES", unique_topic("model-updates"))
    assert promote.main(["--rollback", "--approved-by", "ana", "--reason", "test", "--models-dir", str(tmp_path / "models"), "--tracking-uri", f"sqlite:///{tmp_path}/m.db"]) == EXIT_ERROR
    assert "NOTHING_TO_ROLL_BACK" in capsys.readouterr().err
