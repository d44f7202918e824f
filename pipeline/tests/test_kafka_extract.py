"""Extract on a real broker: scoring-log features joined with loan-outcome labels, read_committed, windowed."""

from __future__ import annotations

import uuid

import numpy as np
from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic

from pipeline.retrain.dataset import read_csv
from pipeline.retrain.generate import generated_dataset
from pipeline.population.features import feature_names
from pipeline.kafka.produce import produce_all
from pipeline.kafka.registry import SchemaRegistry
from pipeline.kafka.settings import kafka_settings
from pipeline.kafka.topics import admin_client
from pipeline.stages import extract

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _log_value(app_id, submitted_at, x, version="1"):
    return {
        "application_id": app_id,
        "submitted_at": submitted_at,
        "scored_at": submitted_at + 50,
        "features": dict(zip(feature_names(), x)),
        "probability_of_default": 0.2,
        "predicted_class": 0,
        "risk_category": "LOW",
        "decision": "APPROVE",
        "model_name": "credit-default-classifier",
        "model_version": version,
        "inference_latency_ms": 1.5,
        "batch_size": 10,
        "source_topic": "loan-applications",
        "source_partition": 0,
        "source_offset": 1,
    }


def _create(settings, *topics, partitions=3):
    admin = admin_client(settings)  # keep the handle alive until the futures resolve
    futures = admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics])
    for future in futures.values():
        future.result(timeout=20)


def test_extract_joins_scoring_log_and_outcomes_from_real_topics(kafka_stack, unique_topic, monkeypatch, tmp_path):
    settings = kafka_settings()
    log_topic, outcome_topic = unique_topic("scoring-log"), unique_topic("loan-outcomes")
    monkeypatch.setenv("TOPIC_SCORING_LOG", log_topic)
    monkeypatch.setenv("TOPIC_OUTCOMES", outcome_topic)
    _create(settings, log_topic, outcome_topic)
    registry = SchemaRegistry(settings.registry_url)
    log_id = registry.register_value_schema(log_topic, "scoring-log")
    outcome_id = registry.register_value_schema(outcome_topic, "loan-outcome")

    n = 400
    population = generated_dataset(n, seed=5)
    ids = [f"app-{i:04d}" for i in range(n)]
    times = [T0 + i * 60_000 for i in range(n)]
    logs = [(ids[i].encode(), registry.encode(log_id, _log_value(ids[i], times[i], population.X[i].tolist()))) for i in range(n)]
    # a re-scoring of the first 10 applications with other features: the first scoring is kept
    logs += [(ids[i].encode(), registry.encode(log_id, _log_value(ids[i], times[i], (population.X[i] + 1).tolist(), "2"))) for i in range(10)]
    logs.append((b"junk", b"not avro at all"))  # a bad message is counted, not fatal
    produce_all(settings, log_topic, logs)

    labelled = range(0, 300)  # applications 300..399 have no outcome yet
    outcomes = [(ids[i].encode(), registry.encode(outcome_id, {"application_id": ids[i], "defaulted": bool(population.defaulted[i]), "observed_at": times[i] + 86_400_000})) for i in labelled]
    # application 5's outcome is corrected later: the latest observation wins
    outcomes.append((ids[5].encode(), registry.encode(outcome_id, {"application_id": ids[5], "defaulted": not bool(population.defaulted[5]), "observed_at": times[5] + 2 * 86_400_000})))
    outcomes.append((b"app-unknown", registry.encode(outcome_id, {"application_id": "app-unknown", "defaulted": True, "observed_at": T0})))
    produce_all(settings, outcome_topic, outcomes)

    # records of an aborted transaction are never read (read_committed)
    producer = Producer({"bootstrap.servers": settings.brokers, "transactional.id": f"pytest-{uuid.uuid4()}"})
    producer.init_transactions(20)
    producer.begin_transaction()
    for i in range(20):
        app = f"aborted-{i}"
        producer.produce(log_topic, key=app.encode(), value=registry.encode(log_id, _log_value(app, T0 + i, population.X[i].tolist())))
        producer.produce(outcome_topic, key=app.encode(), value=registry.encode(outcome_id, {"application_id": app, "defaulted": True, "observed_at": T0 + i}))
    producer.flush(20)
    producer.abort_transaction(20)

    # window: applications 20..(inclusive) .. before 280
    since, until = times[20], times[280]
    out, info_path = tmp_path / "dataset.csv", tmp_path / "dataset.json"
    code = extract.main(["--source", "kafka", "--since", str(since), "--until", str(until), "--out", str(out), "--info", str(info_path)])
    assert code == 0
    ds = read_csv(out, feature_names())
    assert ds.application_id.tolist() == ids[20:280]
    expected_x = population.X[20:280]
    np.testing.assert_array_equal(ds.X, expected_x)  # bit-exact: doubles through Avro and CSV
    expected_y = population.defaulted[20:280].copy()
    assert ds.defaulted.tolist() == expected_y.tolist()
    assert ds.submitted_at.tolist() == times[20:280]
    assert np.isnan(ds.true_probability).all()

    import json

    info = json.loads(info_path.read_text())
    assert info["details"]["join"] == {
        "scoring_log_records": n + 10,
        "outside_window": n - 260,
        "duplicate_scorings": 10,
        "outcome_records": 302,
        "joined": 260,
        "without_outcome": 0,
    }
    assert info["details"]["undecodable"]["scoring_log"] == {"DECODE_MAGIC_BYTE": 1}


def test_corrected_outcome_and_unlabelled_rows(kafka_stack, unique_topic, monkeypatch, tmp_path):
    settings = kafka_settings()
    log_topic, outcome_topic = unique_topic("scoring-log"), unique_topic("loan-outcomes")
    monkeypatch.setenv("TOPIC_SCORING_LOG", log_topic)
    monkeypatch.setenv("TOPIC_OUTCOMES", outcome_topic)
    _create(settings, log_topic, outcome_topic, partitions=1)
    registry = SchemaRegistry(settings.registry_url)
    log_id = registry.register_value_schema(log_topic, "scoring-log")
    outcome_id = registry.register_value_schema(outcome_topic, "loan-outcome")
    population = generated_dataset(200, seed=6)
    produce_all(settings, log_topic, [(f"a{i}".encode(), registry.encode(log_id, _log_value(f"a{i}", T0 + i, population.X[i].tolist()))) for i in range(200)])
    outcomes = [(f"a{i}".encode(), registry.encode(outcome_id, {"application_id": f"a{i}", "defaulted": i % 2 == 0, "observed_at": T0 + 10})) for i in range(150)]
    outcomes.append((b"a0", registry.encode(outcome_id, {"application_id": "a0", "defaulted": False, "observed_at": T0 + 20})))
    produce_all(settings, outcome_topic, outcomes)
    out = tmp_path / "dataset.csv"
    assert extract.main(["--source", "kafka", "--out", str(out), "--info", str(tmp_path / "d.json")]) == 0
    ds = read_csv(out, feature_names())
    labels = dict(zip(ds.application_id.tolist(), ds.defaulted.tolist()))
    assert len(labels) == 150 and labels["a0"] == 0 and labels["a2"] == 1 and labels["a1"] == 0


def test_extract_from_an_empty_topic_is_a_readable_error(kafka_stack, unique_topic, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TOPIC_SCORING_LOG", unique_topic("scoring-log"))
    monkeypatch.setenv("TOPIC_OUTCOMES", unique_topic("loan-outcomes"))
    code = extract.main(["--source", "kafka", "--out", str(tmp_path / "d.csv"), "--info", str(tmp_path / "d.json")])
    assert code == 2
    assert "DATASET_INVALID" in capsys.readouterr().err
    assert not (tmp_path / "d.csv").exists()
