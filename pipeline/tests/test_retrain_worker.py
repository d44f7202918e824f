"""The retrain worker on a real broker: a RETRAIN request with two worker replicas runs the pipeline once,
records its outcomes on drift-alerts, publishes the new version to an HTTP artifact store and announces
it by URL; the announced bundle downloads with its sha256 verified (and a wrong sha256 is refused)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
import yaml

from pipeline.errors import PipelineError
from pipeline.kafka.group import GroupMember
from pipeline.kafka.produce import produce_all
from pipeline.kafka.records import read_values
from pipeline.kafka.registry import SchemaRegistry
from pipeline.kafka.settings import kafka_settings
from pipeline.kafka.topics import ensure_topic
from pipeline.paths import REPO_ROOT
from pipeline.retrain.layout import PARAMS_FILE
from pipeline.store import server as store_server
from pipeline.store.client import fetch_bundle

WINDOW_START = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(deployment: str) -> dict:
    """A drift monitor's RETRAIN request (DRIFT_RETRAIN=notify) about window 12 of an incident opened at 11."""
    return {
        "dedup_key": f"{deployment}/1:*:11:RETRAIN:notified",
        "kind": "RETRAIN", "target": "*", "severity": "ALERT", "window_index": 12, "windowing": "time:300000",
        "window_start": WINDOW_START, "window_end": WINDOW_START + 300_000, "psi": 0.4, "psi_p_value": 0.0,
        "test": "ks-2samp", "statistic": 0.2, "p_value": 0.0, "records": 5000, "reference_records": 40000,
        "counts": [], "expected": [], "model_name": "credit-default-classifier", "reference_version": "1",
        "deployment": deployment, "reference_sha256": "", "drifting_since_reference": "", "outcomes_labelled": -1,
        "outcomes_required": -1, "attempt": 0, "previous_version": "", "drifting_since_window": 11,
        "targets": ["score", "debt_to_income"], "action": "notify", "outcome": "notified", "detail": "drift on score",
        "emitted_at": WINDOW_START + 301_000,
    }


def _wait(what: str, check, timeout_s: float, procs: list[subprocess.Popen]):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for p in procs:
            assert p.poll() is None, f"a worker exited {p.returncode} while waiting for {what}"
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def store(tmp_path: Path):
    server = store_server.serve(tmp_path / "store", "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_two_replicas_run_one_retrain_and_publish_it_over_http(kafka_stack, unique_topic, mlflow_uri, store, tmp_path, monkeypatch):
    settings = kafka_settings()
    alerts, updates = unique_topic("drift-alerts"), unique_topic("model-updates")
    monkeypatch.setenv("TOPIC_DRIFT_ALERTS", alerts)
    monkeypatch.setenv("TOPIC_MODEL_UPDATES", updates)
    ensure_topic(settings, "driftAlerts", alerts)
    ensure_topic(settings, "modelUpdates", updates)
    params = yaml.safe_load(PARAMS_FILE.read_text())
    params["data"]["rows"] = 20_000
    params["models_dir"] = str(tmp_path / "models")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    deployment = f"test-{uuid.uuid4().hex[:8]}"
    ports = [_free_port(), _free_port()]
    env = {
        **os.environ,
        "RETRAIN_GROUP_ID": f"pipeline-retrain-{uuid.uuid4().hex[:8]}",
        "RETRAIN_DEPLOYMENT": deployment,
        "RETRAIN_SOURCE": "generate",
        "RETRAIN_PARAMS": str(tmp_path / "params.yaml"),
        "MLFLOW_TRACKING_URI": mlflow_uri,
        "ARTIFACT_STORE_URL": store,
        "HTTP_HOST": "127.0.0.1",
        "SHUTDOWN_TIMEOUT": "20s",
    }
    def start(port: int) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "pipeline.stages.retrain_worker"], cwd=REPO_ROOT, env={**env, "HTTP_PORT": str(port)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    workers = [start(port) for port in ports]
    try:
        _wait("both workers ready (in the group)", lambda: all(_ready(p) for p in ports), 60, workers)
        registry = SchemaRegistry.from_settings(settings)
        schema_id = registry.register_value_schema(alerts, "drift-alert")
        request = _request(deployment)
        produce_all(settings, alerts, [(request["dedup_key"].encode(), registry.encode(schema_id, request))])

        def settled():
            values = read_values(settings, registry, alerts, "drift-alert").values
            done = [v for v in values if v["action"] == "retrain" and v["outcome"] in ("succeeded", "failed", "gave_up")]
            return values if done else None

        values = _wait("the retrain's outcome on drift-alerts", settled, 240, workers)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        outputs = [w.communicate(timeout=60)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    outcomes = [(v["outcome"], v["attempt"]) for v in values if v["action"] == "retrain"]
    assert outcomes == [("started", 1), ("succeeded", 1)], (outcomes, outputs)
    runs = [sum(line.count(f"{deployment}/1:11 started") for line in out.splitlines()) for out in outputs]
    assert sorted(runs) == [0, 1], outputs  # one replica ran it, the other stood by
    assert values[-1]["targets"] == ["score", "debt_to_income"] and values[-1]["deployment"] == deployment

    (announced,) = read_values(settings, registry, updates, "model-update").values
    assert announced["action"] == "PROMOTE" and announced["artifact_uri"] == f"{store}/credit-default-classifier/{announced['version']}"
    assert announced["approval"]["mode"] == "AUTOMATIC"
    assert announced["approval"]["evidence"]["drift_targets"] == "score,debt_to_income"

    fetched = fetch_bundle(announced["artifact_uri"], tmp_path / "fetched", announced["sha256"])
    assert sorted(p.name for p in fetched.iterdir()) == ["golden.json", "metadata.json", "model.onnx", "trees.json"]
    with pytest.raises(PipelineError, match="MODEL_SHA256_MISMATCH"):
        fetch_bundle(announced["artifact_uri"], tmp_path / "refused", "0" * 64)
    assert not (tmp_path / "refused").exists()
    # Versions are immutable on the store: publishing the same version again is refused.
    assert requests.put(f"{announced['artifact_uri']}/model.onnx", data=b"x", timeout=5).status_code == 409


def test_a_member_joining_does_not_take_the_partition_of_the_member_handling_it(kafka_stack, unique_topic):
    """The group's assignor is sticky and cooperative: when a replica joins (a rolling update, a scale-up),
    the owner keeps its partition (nothing is revoked), so a request it is handling is never handed to the
    newcomer half-done. With an eager assignor (``range``) this fails: the owner loses the partition."""
    settings = kafka_settings()
    topic = unique_topic("drift-alerts")
    ensure_topic(settings, "driftAlerts", topic)
    group = f"pipeline-sticky-{uuid.uuid4().hex[:8]}"
    owner = GroupMember(settings, topic, group)
    newcomer = None
    try:
        deadline = time.monotonic() + 60
        while not owner.assigned and time.monotonic() < deadline:
            owner.poll(0.2)
        assert owner.assigned == [0]
        owner.pause()  # as while a retrain runs
        newcomer = GroupMember(settings, topic, group)
        while not newcomer.joined and time.monotonic() < deadline:
            owner.poll(0.2)
            newcomer.poll(0.2)
        assert newcomer.joined, "the newcomer never joined"
        for _ in range(10):  # let the rebalance settle on both sides
            owner.poll(0.2)
            newcomer.poll(0.2)
        assert (owner.assigned, owner.revoked, newcomer.assigned) == ([0], 0, [])
    finally:
        owner.close()
        if newcomer is not None:
            newcomer.close()
