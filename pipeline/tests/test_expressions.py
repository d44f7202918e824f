"""The spec's expression language."""

import numpy as np
import pytest

from pipeline.population.expressions import evaluate, references


def test_operators_evaluate_elementwise():
    env = {"x": np.array([1.0, 4.0]), "y": np.array([2.0, 2.0])}
    expr = {"add": [1, {"mul": ["x", "y", 0.5]}, {"sub": ["x", "y"]}, {"div": ["x", "y"]}]}
    np.testing.assert_allclose(evaluate(expr, env), 1 + env["x"] * env["y"] * 0.5 + (env["x"] - 2) + env["x"] / 2)
    np.testing.assert_allclose(evaluate({"min": ["x", 3, "y"]}, env), [1.0, 2.0])
    np.testing.assert_allclose(evaluate({"max": ["x", 3]}, env), [3.0, 4.0])
    np.testing.assert_allclose(evaluate({"exp": {"log": "x"}}, env), env["x"])
    np.testing.assert_allclose(evaluate({"log1p": "x"}, env), np.log1p(env["x"]))


def test_unknown_feature_and_malformed_expressions_raise():
    with pytest.raises(KeyError):
        evaluate("missing", {})
    for bad in ({"pow": [1, 2]}, {"sub": [1]}, {"add": []}, {"add": [1], "mul": [2]}, True, None):
        with pytest.raises(ValueError):
            evaluate(bad, {})


def test_references_lists_every_feature_read():
    assert references({"add": ["a", {"log": {"mul": ["b", 2]}}, 1]}) == {"a", "b"}
    assert references(3.0) == set()
