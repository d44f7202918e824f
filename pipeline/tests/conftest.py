"""Shared fixtures: one small training run per test session; the pipeline's offline run; a real Kafka stack."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from pipeline.paths import REPO_ROOT
from pipeline.train_initial import TrainingResult, train

TEST_ROWS = 20_000


def pytest_configure(config: pytest.Config) -> None:
    """Silence a deprecation warning MLflow's sqlite store triggers in SQLAlchemy 2.1 (not ours to fix)."""
    config.addinivalue_line("filterwarnings", "ignore:The ``noload`` loader strategy is deprecated")
TEST_SEED = 7


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrainingResult]:
    """Train once on a small population into a temporary model directory."""
    out = tmp_path_factory.mktemp("models") / "credit-default-classifier" / "1"
    return out, train(out, rows=TEST_ROWS, seed=TEST_SEED)


class OfflineRun(NamedTuple):
    """Files of one extract -> train -> gate -> export run on generated data."""

    root: Path
    dataset: Path
    dataset_info: Path
    train_dir: Path
    gate_report: Path
    candidate: Path
    outputs: dict[str, str]


@pytest.fixture(scope="session")
def offline_run(tmp_path_factory: pytest.TempPathFactory) -> OfflineRun:
    """Run the four offline stages through their command-line entry points (20k generated rows, no champion)."""
    import contextlib
    import io

    from pipeline.stages import export, extract, gate
    from pipeline.stages import train as train_stage

    root = tmp_path_factory.mktemp("offline")
    files = OfflineRun(root, root / "dataset.csv", root / "dataset.json", root / "train", root / "gate.json", root / "candidate", {})
    steps = {
        "extract": (extract.main, ["--rows", str(TEST_ROWS), "--seed", str(TEST_SEED), "--out", str(files.dataset), "--info", str(files.dataset_info)]),
        "train": (train_stage.main, ["--dataset", str(files.dataset), "--out", str(files.train_dir)]),
        "gate": (gate.main, ["--dataset", str(files.dataset), "--train-dir", str(files.train_dir), "--report", str(files.gate_report), "--champion", "none"]),
        "export": (export.main, ["--dataset", str(files.dataset), "--dataset-info", str(files.dataset_info), "--train-dir", str(files.train_dir), "--gate-report", str(files.gate_report), "--out", str(files.candidate)]),
    }
    for name, (main, argv) in steps.items():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(argv)
        assert code == 0, f"{name} exited {code}: {out.getvalue()}"
        files.outputs[name] = out.getvalue()
    return files


# ------------------------------------------------------------------------------------------- Kafka stack
def _reachable(brokers: str, registry_url: str) -> bool:
    import requests

    host, port = brokers.split(",")[0].rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            pass
        return requests.get(f"{registry_url}/subjects", timeout=5).ok
    except (OSError, requests.RequestException):
        return False


class Stack(NamedTuple):
    """The broker and registry the Kafka tests use."""

    brokers: str
    registry_url: str


@pytest.fixture(scope="session")
def kafka_stack() -> Iterator[Stack]:
    """A real broker + registry: the configured one (env or .local/stack.env), else the local stack started here.

    A stack this fixture started is stopped at the end of the session (unless KEEP_STACK=1);
    a running one is reused and left running.
    """
    from pipeline.kafka.settings import kafka_settings

    settings = kafka_settings()
    started = False
    if not _reachable(settings.brokers, settings.registry_url) and not os.environ.get("KAFKA_BROKERS"):
        node = shutil.which("node")
        assert node, "no Kafka stack reachable and no node to start the local one (make stack)"
        subprocess.run([node, "--import", "tsx", "infra/local/stack.ts", "up"], cwd=REPO_ROOT, check=True, timeout=300)
        started = True
        settings = kafka_settings()
    assert _reachable(settings.brokers, settings.registry_url), f"Kafka {settings.brokers} / registry {settings.registry_url} not reachable"
    os.environ["KAFKA_BROKERS"] = settings.brokers
    os.environ["SCHEMA_REGISTRY_URL"] = settings.registry_url
    try:
        yield Stack(settings.brokers, settings.registry_url)
    finally:
        if started and os.environ.get("KEEP_STACK") != "1":
            subprocess.run([shutil.which("node") or "node", "--import", "tsx", "infra/local/stack.ts", "down"], cwd=REPO_ROOT, timeout=120)


@pytest.fixture
def unique_topic() -> Iterator:
    """Return a function making a test-unique topic name (the topics are deleted afterwards)."""
    made: list[str] = []

    def make(role: str) -> str:
        name = f"pytest-{role}-{uuid.uuid4().hex[:12]}"
        made.append(name)
        return name

    yield make
    if made and os.environ.get("KAFKA_BROKERS"):
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": os.environ["KAFKA_BROKERS"]})
        for future in admin.delete_topics(made, operation_timeout=10).values():
            try:
                future.result(timeout=15)
            except Exception:  # a topic the test never created
                pass


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised, empty MLflow sqlite store (creating one runs the schema migrations, a few seconds)."""
    from pipeline.retrain import tracking

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    tracking.registered_versions(f"sqlite:///{path}", "none")
    return path


@pytest.fixture
def mlflow_uri(tmp_path: Path, mlflow_template: Path) -> str:
    """A fresh MLflow tracking URI (sqlite copy of the template; artifacts beside it)."""
    path = tmp_path / "mlruns" / "mlflow.db"
    path.parent.mkdir()
    shutil.copyfile(mlflow_template, path)
    return f"sqlite:///{path}"
