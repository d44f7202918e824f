"""Small helpers for model artifacts: hashes, timestamps, atomic JSON/bytes writes."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np


def sha256_bytes(data: bytes) -> str:
    """Return the hex SHA-256 of ``data``.

    Examples
    --------
    >>> sha256_bytes(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def data_sha256(X: np.ndarray, y: np.ndarray, submitted_at: np.ndarray) -> str:
    """Fingerprint a training set.

    Parameters
    ----------
    X : numpy.ndarray
        Features, hashed as little-endian float64, row-major.
    y : numpy.ndarray
        Labels, hashed as int8.
    submitted_at : numpy.ndarray
        Event times, hashed as little-endian int64.

    Returns
    -------
    str
        Hex SHA-256 of the three byte strings concatenated in that order.
    """
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(X, dtype="<f8").tobytes())
    digest.update(np.ascontiguousarray(y, dtype="i1").tobytes())
    digest.update(np.ascontiguousarray(submitted_at, dtype="<i8").tobytes())
    return digest.hexdigest()


def iso_utc(epoch_ms: int | float) -> str:
    """Format epoch milliseconds as ISO-8601 UTC with milliseconds and a ``Z``.

    Examples
    --------
    >>> iso_utc(0)
    '1970-01-01T00:00:00.000Z'
    """
    moment = datetime.fromtimestamp(int(epoch_ms) / 1000.0, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON (floats round-trip exactly) through a rename."""
    write_bytes_atomic(path, (json.dumps(payload, indent=2, allow_nan=False) + "\n").encode("utf-8"))
