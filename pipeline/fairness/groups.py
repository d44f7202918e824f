"""Protected-group membership of applications, kept apart from the training set (docs/fairness.md).

A :class:`GroupTable` is what the extract stage writes to ``demographics.csv`` beside (never inside)
``dataset.csv``: ``application_id`` and one column per attribute of ``schemas/population.json``
``demographics``. The train stage never reads it; the gate joins it to the holdout by application id.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import NamedTuple

import numpy as np

MISSING = ""
"""The value of an application without a row in the table."""


class GroupTable(NamedTuple):
    """Group membership by application id.

    Attributes
    ----------
    application_id : numpy.ndarray
        ``[n]`` str ids.
    columns : dict of str to numpy.ndarray
        Attribute name to ``[n]`` str categories.
    """

    application_id: np.ndarray
    columns: dict[str, np.ndarray]

    @property
    def rows(self) -> int:
        """Number of rows."""
        return len(self.application_id)

    def aligned(self, ids: np.ndarray) -> dict[str, np.ndarray]:
        """Return each attribute for ``ids`` in their order (:data:`MISSING` where an id has no row).

        Examples
        --------
        >>> t = GroupTable(np.array(["a", "b"], dtype=object), {"sex": np.array(["F", "M"], dtype=object)})
        >>> t.aligned(np.array(["b", "x", "a"], dtype=object))["sex"].tolist()
        ['M', '', 'F']
        """
        where = {str(i): k for k, i in enumerate(self.application_id)}
        idx = np.array([where.get(str(i), -1) for i in ids], dtype=np.int64)
        out = {}
        for name, values in self.columns.items():
            col = np.asarray(values, dtype=object)[np.maximum(idx, 0)] if len(values) else np.full(len(idx), MISSING, dtype=object)
            col = np.where(idx >= 0, col, MISSING)
            out[name] = col.astype(object)
        return out


def to_csv_bytes(table: GroupTable) -> bytes:
    """Return the table as CSV: ``application_id`` then the attributes, rows sorted by id.

    Examples
    --------
    >>> t = GroupTable(np.array(["b", "a"], dtype=object), {"sex": np.array(["M", "F"], dtype=object)})
    >>> to_csv_bytes(t).decode().splitlines()
    ['application_id,sex', 'a,F', 'b,M']
    """
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    names = list(table.columns)
    w.writerow(["application_id", *names])
    for k in np.argsort(table.application_id.astype(str), kind="stable"):
        w.writerow([table.application_id[k], *(table.columns[n][k] for n in names)])
    return out.getvalue().encode("utf-8")


def read_csv(path: Path) -> GroupTable:
    """Read a table written by :func:`to_csv_bytes`.

    Raises
    ------
    ValueError
        When the file has no ``application_id`` column first.
    """
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header or header[0] != "application_id":
            raise ValueError(f"{path}: the first column must be application_id, got {header}")
        rows = list(reader)
    ids = np.array([r[0] for r in rows], dtype=object)
    return GroupTable(ids, {name: np.array([r[j + 1] for r in rows], dtype=object) for j, name in enumerate(header[1:])})
