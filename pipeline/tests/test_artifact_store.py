"""Bundles on the HTTP artifact store (pipeline.store): published by PUT, fetched by GET with model.onnx's
sha256 verified; a tampered file, a re-publication and paths outside the store are refused."""

from __future__ import annotations

import hashlib
import http.client
import re
import threading
from pathlib import Path

import pytest
import requests

from pipeline.errors import PipelineError
from pipeline.paths import REPO_ROOT
from pipeline.store import server as store_server
from pipeline.store.client import BUNDLE_FILES, fetch_bundle, publish_bundle


@pytest.fixture
def store(tmp_path: Path):
    root = tmp_path / "store"
    server = store_server.serve(root, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def test_bundle_files_are_the_scorers():
    source = (REPO_ROOT / "services/scorer/model/artifact.ts").read_text()
    listed = re.search(r"BUNDLE_FILES = \[([^\]]*)\]", source).group(1)
    assert tuple(re.findall(r"'([^']+)'", listed)) == BUNDLE_FILES


def test_publish_then_fetch_verifies_sha256(trained, store, tmp_path):
    folder, _ = trained
    url, root = store
    sha = hashlib.sha256((folder / "model.onnx").read_bytes()).hexdigest()
    uri = publish_bundle(folder, url, "credit-default-classifier", "7")
    assert uri == f"{url}/credit-default-classifier/7"
    assert (root / "credit-default-classifier/7/metadata.json").is_file()

    out = fetch_bundle(uri, tmp_path / "fetched", sha)
    for name in BUNDLE_FILES:
        assert (out / name).read_bytes() == (folder / name).read_bytes()

    with pytest.raises(PipelineError, match="MODEL_SHA256_MISMATCH") as refused:
        fetch_bundle(uri, tmp_path / "wrong", "f" * 64)
    assert not refused.value.retriable and not (tmp_path / "wrong").exists()

    # A tampered model.onnx on the store is refused, and the folder already fetched is left as it was.
    (root / "credit-default-classifier/7/model.onnx").write_bytes(b"not the model")
    with pytest.raises(PipelineError, match="MODEL_SHA256_MISMATCH"):
        fetch_bundle(uri, out, sha)
    assert hashlib.sha256((out / "model.onnx").read_bytes()).hexdigest() == sha


def test_versions_are_immutable_and_paths_stay_inside(trained, store):
    folder, _ = trained
    url, _ = store
    publish_bundle(folder, url, "m", "1")
    with pytest.raises(PipelineError, match="ARTIFACT_STORE_FAILED.*409") as again:
        publish_bundle(folder, url, "m", "1")
    assert not again.value.retriable
    host, port = url.removeprefix("http://").split(":")
    raw = http.client.HTTPConnection(host, int(port), timeout=5)  # requests would normalise the ".." away
    raw.request("PUT", "/m/../../escape", body=b"x")
    assert raw.getresponse().status == 400
    assert requests.get(f"{url}/m/1/.hidden", timeout=5).status_code == 404
    with pytest.raises(PipelineError, match="ARTIFACT_STORE_FAILED.*404"):
        fetch_bundle(f"{url}/m/2", folder.parent / "none", "0" * 64)


def test_a_fresh_models_dir_registers_above_the_announced_champion(offline_run, mlflow_uri, tmp_path):
    """A retrain worker in a new pod has an empty models_dir; its version still goes above the champion
    it fetched from the store (so publishing it never collides with a version already there)."""
    from pipeline.stages.register import register

    models = tmp_path / "models"
    first = register(offline_run.candidate, models, "credit-default-classifier", mlflow_uri, at_least=5)
    again = register(offline_run.candidate, models, "credit-default-classifier", mlflow_uri)
    assert (first.version, again.version) == ("5", "6")
