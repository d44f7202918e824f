"""Feature names and order, read from the Avro schema of a loan application.

``schemas/loan-application.avsc`` is the single source of truth: every field after
``submitted_at`` is a model feature, in model input order. Nothing else in the
Python pipeline lists the features.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.paths import LOAN_APPLICATION_SCHEMA

TIMESTAMP_FIELD = "submitted_at"


def feature_names(schema_path: Path | str = LOAN_APPLICATION_SCHEMA) -> list[str]:
    """Return the model features in model input order.

    Parameters
    ----------
    schema_path : path-like, optional
        Avro record schema of a loan application. Defaults to the repository's
        ``schemas/loan-application.avsc``.

    Returns
    -------
    list of str
        Names of the fields after ``submitted_at``, in schema order.

    Raises
    ------
    ValueError
        If the schema has no ``submitted_at`` field or no field after it.

    Examples
    --------
    >>> feature_names()[0]
    'age'
    """
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    names = [field["name"] for field in schema["fields"]]
    if TIMESTAMP_FIELD not in names:
        raise ValueError(f"{schema_path}: no {TIMESTAMP_FIELD!r} field")
    features = names[names.index(TIMESTAMP_FIELD) + 1 :]
    if not features:
        raise ValueError(f"{schema_path}: no feature field after {TIMESTAMP_FIELD!r}")
    return features


def feature_types(schema_path: Path | str = LOAN_APPLICATION_SCHEMA) -> dict[str, str]:
    """Return the Avro type of each feature (``'int'``, ``'double'``, ...).

    Parameters
    ----------
    schema_path : path-like, optional
        Avro record schema of a loan application.

    Returns
    -------
    dict of str to str
        Feature name to its primitive Avro type, in model input order.

    Examples
    --------
    >>> feature_types()["age"]
    'int'
    """
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    by_name = {field["name"]: field["type"] for field in schema["fields"]}
    return {name: by_name[name] for name in feature_names(schema_path)}
