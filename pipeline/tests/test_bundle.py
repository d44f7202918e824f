"""The bundle writer's extension points on a small model: extra artefacts, golden.json fields, checks,
and nothing written when a check, the parity or a clashing field refuses the bundle."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.artifacts import sha256_bytes
from pipeline.model.bundle import GOLDEN_FILE, METADATA_FILE, MODEL_FILE, Artefact, BundleInput, write_bundle
from pipeline.model.classifier import fit
from pipeline.model.onnx_export import ParityError, onnx_probabilities


@pytest.fixture(scope="module")
def bundle_input():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=400) > 0).astype(int)
    model = fit(X[:300], y[:300], 3, (0, 0, 0), {"n_estimators": 20, "max_depth": 3, "base_score": 0.5, "objective": "binary:logistic"})
    return BundleInput(
        name="tiny", version="7", model=model, feature_names=["a", "b", "c"], X_train=X[:300], X_holdout=X[300:], seed=3,
        training={"rows": 300}, metrics={"roc_auc": 0.9}, metadata={"created_at": "2026-01-01T00:00:00.000Z", "calibration": []},
    )


def test_extras_golden_fields_and_checks_land_in_the_bundle(tmp_path, bundle_input):
    seen = {}

    def trees(exported, metadata):
        return {"trees": len(exported.input.model.get_booster().get_dump())}

    def card(exported, metadata):
        seen.update(metadata)
        return f"# {metadata['name']} v{metadata['version']}: trees {metadata['trees_sha256'][:8]}\n".encode()

    extras = (
        Artefact("trees.json", trees, lambda exported, data: {"trees_sha256": sha256_bytes(data)}),
        Artefact("card.md", card),
    )
    golden_fields = (lambda exported: {"margins": [0.0] * len(exported.golden_X)},)
    checks = (lambda exported: {"size_check": {"bytes": len(exported.model_bytes)}},)
    metadata = write_bundle(bundle_input, tmp_path, extras=extras, checks=checks, golden_fields=golden_fields)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MODEL_FILE, GOLDEN_FILE, METADATA_FILE, "trees.json", "card.md"])
    assert json.loads((tmp_path / METADATA_FILE).read_text()) == metadata
    assert list(metadata)[:3] == ["name", "version", "created_at"] and list(metadata)[-1] == "reference"
    assert metadata["trees_sha256"] == sha256_bytes((tmp_path / "trees.json").read_bytes())
    assert metadata["size_check"]["bytes"] == len((tmp_path / MODEL_FILE).read_bytes())
    assert metadata["model_sha256"] == sha256_bytes((tmp_path / MODEL_FILE).read_bytes())
    assert "trees_sha256" in seen and "reference" in seen and "calibration" in seen
    golden = json.loads((tmp_path / GOLDEN_FILE).read_text())
    assert len(golden["margins"]) == len(golden["rows"]) == 100
    probabilities = onnx_probabilities((tmp_path / MODEL_FILE).read_bytes(), np.array(golden["rows"]))
    assert np.abs(probabilities - np.array(golden["probabilities"])).max() <= 1e-6


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"checks": (lambda exported: (_ for _ in ()).throw(ParityError("monotone broken")),)}, ParityError),
        ({"extras": (Artefact("t.json", lambda e, m: {}, lambda e, d: {"metrics": {}}),)}, ValueError),
        ({"extras": (Artefact("golden.json", lambda e, m: {}),)}, ValueError),
        ({"golden_fields": (lambda exported: {"rows": []},)}, ValueError),
    ],
    ids=["a check fails", "an artefact overwrites metrics", "an artefact replaces golden.json", "a golden field overwrites rows"],
)
def test_a_refused_bundle_writes_nothing(tmp_path, bundle_input, kwargs, error):
    out = tmp_path / "bundle"
    with pytest.raises(error):
        write_bundle(bundle_input, out, **kwargs)
    assert not out.exists()


def test_parity_beyond_the_tolerance_writes_nothing(tmp_path, bundle_input):
    from dataclasses import replace

    with pytest.raises(ParityError):
        write_bundle(replace(bundle_input, parity_tolerance=-1.0), tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()
