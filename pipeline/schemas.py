"""The Avro schemas in ``schemas/``, read once: the source of record names (and of field names and order).

Examples
--------
>>> record_name("loan-outcome")
'com.creditrisk.v1.LoanOutcome'
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pipeline.paths import SCHEMAS_DIR


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Return the parsed ``schemas/<name>.avsc`` (cached; do not modify it)."""
    return json.loads((SCHEMAS_DIR / f"{name}.avsc").read_text(encoding="utf-8"))


def record_name(name: str) -> str:
    """Return the full Avro name (``namespace.name``) of the record ``schemas/<name>.avsc`` defines.

    Examples
    --------
    >>> record_name("model-update")
    'com.creditrisk.v1.ModelUpdate'
    """
    schema = load_schema(name)
    return f"{schema['namespace']}.{schema['name']}" if schema.get("namespace") else schema["name"]
