"""The numpy-style docstring examples run and hold."""

import doctest
import importlib

import pytest

MODULES = ["artifacts", "bundle", "schemas", "expressions", "features", "metrics", "model", "population", "reference", "train_initial", "validation"]
MODULES += [
    "batch.announcement", "batch.dataset", "batch.errors", "batch.evaluation", "batch.gate_rules", "batch.generate",
    "batch.join", "batch.layout", "batch.monotone", "batch.params", "batch.tracking", "batch.trainer", "batch.versions",
    "kafka.registry", "kafka.settings",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"pipeline.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
