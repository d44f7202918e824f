"""The training set: rows of (application_id, submitted_at, features, defaulted), read and written as files.

The extract stage always writes CSV (``dataset.csv``): a header ``application_id,submitted_at,
<features in schema order>,defaulted,true_probability`` and one row per application, sorted by
``submitted_at`` then ``application_id``. Floats are written with ``repr`` so they read back
bit-exact; ``true_probability`` is empty when unknown (it is known only for generated data and is
never used for training). Input files for ``data.source: file`` may be CSV, JSONL or Parquet with
the same columns (JSONL may nest the features in a ``features`` object, as the scoring log does;
``submitted_at`` may be epoch milliseconds or ISO-8601; ``defaulted`` 0/1 or true/false).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from pipeline.errors import PipelineError

ID, TIME, LABEL, TRUE_P = "application_id", "submitted_at", "defaulted", "true_probability"


class Dataset(NamedTuple):
    """A labelled, time-stamped training set.

    Attributes
    ----------
    application_id : numpy.ndarray
        ``[n]`` str (object) ids.
    submitted_at : numpy.ndarray
        ``[n]`` int64 epoch milliseconds, ascending.
    X : numpy.ndarray
        ``[n, n_features]`` float64 in ``feature_names`` order.
    defaulted : numpy.ndarray
        ``[n]`` int8 labels.
    true_probability : numpy.ndarray
        ``[n]`` float64 true P(default) when known (generated data), else NaN.
    feature_names : tuple of str
        Column names of ``X``.
    """

    application_id: np.ndarray
    submitted_at: np.ndarray
    X: np.ndarray
    defaulted: np.ndarray
    true_probability: np.ndarray
    feature_names: tuple[str, ...]

    @property
    def rows(self) -> int:
        """Number of rows."""
        return len(self.submitted_at)


class Dropped(NamedTuple):
    """Rows of an input that did not make it into a :class:`Dataset`, by reason."""

    reasons: dict[str, int]

    @property
    def total(self) -> int:
        """Number of dropped rows."""
        return sum(self.reasons.values())


def sorted_dataset(ds: Dataset) -> Dataset:
    """Return ``ds`` ordered by ``submitted_at``, then ``application_id`` (a total, stable order).

    Examples
    --------
    >>> ds = build(["b", "a"], [2, 2], np.zeros((2, 1)), [0, 1], [np.nan, np.nan], ("x",))
    >>> sorted_dataset(ds).application_id.tolist()
    ['a', 'b']
    """
    order = np.lexsort((ds.application_id.astype(str), ds.submitted_at))
    return Dataset(*(a[order] for a in ds[:5]), ds.feature_names)


def build(ids: Iterable[str], times: Iterable[int], X: np.ndarray, labels: Iterable[int], true_p: Iterable[float], names: Iterable[str]) -> Dataset:
    """Assemble a :class:`Dataset` from columns (not re-ordered).

    Parameters
    ----------
    ids, times, X, labels, true_p, names
        Columns as described on :class:`Dataset`.

    Returns
    -------
    Dataset
    """
    names = tuple(names)
    X = np.asarray(X, dtype=np.float64).reshape(-1, len(names))
    return Dataset(
        np.asarray(list(ids), dtype=object),
        np.asarray(list(times), dtype=np.int64),
        X,
        np.asarray(list(labels), dtype=np.int8),
        np.asarray(list(true_p), dtype=np.float64),
        names,
    )


def parse_time(value: Any) -> int:
    """Return epoch milliseconds from an int/float (ms) or an ISO-8601 string.

    Examples
    --------
    >>> parse_time("1970-01-01T00:00:01Z"), parse_time(1500), parse_time("2500")
    (1000, 1500, 2500)
    """
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise ValueError(f"not a time: {value!r}")
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"ISO time without a zone: {text!r}")
    return int(moment.timestamp() * 1000)


def parse_label(value: Any) -> int:
    """Return 0/1 from 0/1, booleans or their spellings.

    Examples
    --------
    >>> [parse_label(v) for v in (True, 0, "1", "false", 1.0)]
    [1, 0, 1, 0, 1]
    """
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true", "1.0"):
            return 1
        if text in ("0", "false", "0.0"):
            return 0
        raise ValueError(f"not a 0/1 label: {value!r}")
    if value in (0, 1):  # bools, ints and floats
        return int(value)
    raise ValueError(f"not a 0/1 label: {value!r}")


def from_records(records: Iterable[Mapping[str, Any]], names: Iterable[str]) -> tuple[Dataset, Dropped]:
    """Build a sorted :class:`Dataset` from row mappings, dropping rows that cannot be used.

    A row is dropped (and counted by reason) when its id, time, label or a feature is missing
    or unparsable, a feature is not finite, or its id was seen before (the first one is kept).

    Parameters
    ----------
    records : iterable of mapping
        Rows with ``application_id``, ``submitted_at``, ``defaulted``, the features (flat or in a
        ``features`` mapping) and optionally ``true_probability``.
    names : iterable of str
        Feature names, in model input order.

    Returns
    -------
    tuple of (Dataset, Dropped)

    Examples
    --------
    >>> rows = [{"application_id": "a", "submitted_at": 5, "x": "1.5", "defaulted": 1},
    ...         {"application_id": "b", "submitted_at": 4, "features": {"x": 2.0}, "defaulted": "false"},
    ...         {"application_id": "c", "submitted_at": 3, "x": "nan", "defaulted": 0}]
    >>> ds, dropped = from_records(rows, ["x"])
    >>> ds.application_id.tolist(), ds.X[:, 0].tolist(), dropped.reasons
    (['b', 'a'], [2.0, 1.5], {'feature not finite': 1})
    """
    names = tuple(names)
    ids, times, rows, labels, true_p = [], [], [], [], []
    seen: set[str] = set()
    reasons: dict[str, int] = {}

    def drop(reason: str) -> None:
        reasons[reason] = reasons.get(reason, 0) + 1

    for record in records:
        features = record.get("features")
        source = features if isinstance(features, Mapping) else record
        try:
            app_id = str(record[ID])
            t = parse_time(record[TIME])
            y = parse_label(record[LABEL])
        except (KeyError, ValueError, TypeError):
            drop("id, time or label missing or invalid")
            continue
        try:
            x = [float(source[name]) for name in names]
        except (KeyError, ValueError, TypeError):
            drop("feature missing or not a number")
            continue
        if not all(math.isfinite(v) for v in x):
            drop("feature not finite")
            continue
        if app_id in seen:
            drop("duplicate application_id")
            continue
        seen.add(app_id)
        p = record.get(TRUE_P)
        ids.append(app_id)
        times.append(t)
        rows.append(x)
        labels.append(y)
        true_p.append(float(p) if p not in (None, "") else math.nan)
    ds = build(ids, times, np.asarray(rows, dtype=np.float64), labels, true_p, names)
    return sorted_dataset(ds), Dropped(reasons)


def to_csv_bytes(ds: Dataset) -> bytes:
    """Serialize a dataset as CSV (see the module doc); floats round-trip exactly.

    Examples
    --------
    >>> ds = build(["a"], [7], np.array([[0.1]]), [1], [np.nan], ("x",))
    >>> to_csv_bytes(ds).decode()
    'application_id,submitted_at,x,defaulted,true_probability\\r\\na,7,0.1,1,\\r\\n'
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([ID, TIME, *ds.feature_names, LABEL, TRUE_P])
    for i in range(ds.rows):
        p = ds.true_probability[i]
        writer.writerow([ds.application_id[i], int(ds.submitted_at[i]), *map(repr, ds.X[i].tolist()), int(ds.defaulted[i]), "" if math.isnan(p) else repr(float(p))])
    return buffer.getvalue().encode("utf-8")


def _read_rows(path: Path) -> Iterable[Mapping[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            yield from csv.DictReader(handle)
    elif suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as e:
                        raise PipelineError("DATASET_INVALID", f"{path}:{number}: not JSON: {e}") from e
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        yield from pq.read_table(path).to_pylist()
    else:
        raise PipelineError("DATASET_INVALID", f"{path}: unknown format {suffix!r} (use .csv, .jsonl or .parquet)")


def read_file(path: Path | str, names: Iterable[str]) -> tuple[Dataset, Dropped]:
    """Read a CSV, JSONL or Parquet file into a sorted :class:`Dataset`.

    Parameters
    ----------
    path : path-like
        Input file; the format follows the suffix.
    names : iterable of str
        Feature names, in model input order.

    Returns
    -------
    tuple of (Dataset, Dropped)

    Raises
    ------
    PipelineError
        ``DATASET_INVALID`` when the file is missing, of an unknown format, or malformed.
    """
    path = Path(path)
    if not path.is_file():
        raise PipelineError("DATASET_INVALID", f"{path}: no such file")
    return from_records(_read_rows(path), names)


def read_csv(path: Path | str, names: Iterable[str]) -> Dataset:
    """Read a ``dataset.csv`` written by :func:`to_csv_bytes`; any dropped row is an error.

    Raises
    ------
    PipelineError
        ``DATASET_INVALID`` if the header is not the expected one or a row cannot be used.
    """
    names = tuple(names)
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    expected = [ID, TIME, *names, LABEL, TRUE_P]
    if header != expected:
        raise PipelineError("DATASET_INVALID", f"{path}: header {header} is not {expected}")
    ds, dropped = read_file(path, names)
    if dropped.total:
        raise PipelineError("DATASET_INVALID", f"{path}: {dropped.total} unusable rows {dropped.reasons}")
    if ds.rows == 0:
        raise PipelineError("DATASET_INVALID", f"{path}: no rows")
    return ds


def file_sha256(path: Path | str) -> str:
    """Return the hex SHA-256 of a file's bytes (streamed)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
