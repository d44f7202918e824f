"""The numpy-style docstring examples run and hold."""

import doctest
import importlib

import pytest

MODULES = ["artifacts", "errors", "schemas", "train_initial"]
MODULES += ["model.bundle", "model.classifier", "model.metrics", "model.monotone", "model.reference"]
MODULES += ["population.expressions", "population.features", "population.synthetic", "population.validation"]
MODULES += [
    "retrain.announcement", "retrain.dataset", "retrain.evaluation", "retrain.gate_rules", "retrain.generate",
    "retrain.join", "retrain.layout", "retrain.params", "retrain.tracking", "retrain.versions",
]
MODULES += ["kafka.registry", "kafka.settings", "kafka.retrain_events", "stages.drift"]
MODULES += ["store.client", "store.server", "stages.retrain_worker"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"pipeline.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
