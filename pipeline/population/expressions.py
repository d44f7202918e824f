"""Evaluator of the small expression language of ``schemas/population.json``.

An expression is one of:

- a number: a constant;
- a string: the value of a feature generated earlier;
- ``{"add": [e, ...]}``, ``{"mul": [e, ...]}``: sum / product, folded left to right;
- ``{"sub": [a, b]}``, ``{"div": [a, b]}``: ``a - b``, ``a / b``;
- ``{"min": [e, ...]}``, ``{"max": [e, ...]}``: elementwise, folded left to right;
- ``{"exp": e}``, ``{"log": e}``, ``{"log1p": e}``: elementwise functions.

The TypeScript interpreter (``services/simulator/expression.ts``) evaluates the same
operations in the same order, so both give the same floating-point results.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

_FOLDS = {
    "add": np.add,
    "mul": np.multiply,
    "min": np.minimum,
    "max": np.maximum,
}
_BINARY = {"sub": np.subtract, "div": np.divide}
_UNARY = {"exp": np.exp, "log": np.log, "log1p": np.log1p}


def evaluate(expr: Any, env: Mapping[str, np.ndarray]) -> np.ndarray | float:
    """Evaluate an expression over feature columns.

    Parameters
    ----------
    expr : number, str or dict
        The expression (see the module docstring).
    env : mapping of str to numpy.ndarray
        Feature columns generated so far, all of the same length.

    Returns
    -------
    numpy.ndarray or float
        A float for a constant expression, else an array like the columns.

    Raises
    ------
    KeyError
        If the expression names a feature that is not in ``env``.
    ValueError
        If the expression is malformed.

    Examples
    --------
    >>> import numpy as np
    >>> evaluate({"add": [1, {"mul": [2, "x"]}]}, {"x": np.array([0.0, 1.0])})
    array([1., 3.])
    """
    if isinstance(expr, bool):
        raise ValueError(f"boolean is not an expression: {expr!r}")
    if isinstance(expr, (int, float)):
        return float(expr)
    if isinstance(expr, str):
        if expr not in env:
            raise KeyError(f"expression refers to {expr!r}, which is not generated before it")
        return env[expr]
    if not isinstance(expr, dict) or len(expr) != 1:
        raise ValueError(f"malformed expression: {expr!r}")
    (op, args), = expr.items()
    if op in _FOLDS:
        if not isinstance(args, list) or not args:
            raise ValueError(f"{op!r} takes a non-empty list: {expr!r}")
        acc = evaluate(args[0], env)
        for arg in args[1:]:
            acc = _FOLDS[op](acc, evaluate(arg, env))
        return acc
    if op in _BINARY:
        if not isinstance(args, list) or len(args) != 2:
            raise ValueError(f"{op!r} takes a list of two: {expr!r}")
        return _BINARY[op](evaluate(args[0], env), evaluate(args[1], env))
    if op in _UNARY:
        return _UNARY[op](evaluate(args, env))
    raise ValueError(f"unknown operator {op!r} in {expr!r}")


def references(expr: Any) -> set[str]:
    """Return the feature names an expression refers to.

    Parameters
    ----------
    expr : number, str or dict
        The expression.

    Returns
    -------
    set of str
        Names of the features it reads.

    Examples
    --------
    >>> sorted(references({"add": ["b", {"log": "a"}, 3]}))
    ['a', 'b']
    """
    if isinstance(expr, str):
        return {expr}
    if isinstance(expr, dict):
        (_, args), = expr.items()
        items = args if isinstance(args, list) else [args]
        return set().union(*(references(item) for item in items))
    return set()
