"""Served version numbers: the next free integer, reserved by creating its folder."""

from __future__ import annotations

from pathlib import Path


def numeric_versions(model_root: Path) -> list[int]:
    """Return the integer-named version folders under ``model_root`` (``models/<name>``), sorted.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for d in ("1", "3", "candidate"): (root / d).mkdir()
    >>> numeric_versions(root)
    [1, 3]
    """
    if not model_root.is_dir():
        return []
    return sorted(int(p.name) for p in model_root.iterdir() if p.is_dir() and p.name.isdigit())


def reserve_next(model_root: Path, at_least: int = 1) -> tuple[str, Path]:
    """Create and return the folder of the next version: above every existing one and ``>= at_least``.

    The folder is created with ``mkdir`` (not ``exist_ok``), so two concurrent callers never get
    the same version.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "1").mkdir()
    >>> reserve_next(root)[0], reserve_next(root, at_least=5)[0]
    ('2', '5')
    """
    model_root.mkdir(parents=True, exist_ok=True)
    number = max([at_least - 1, *numeric_versions(model_root)]) + 1
    while True:
        folder = model_root / str(number)
        try:
            folder.mkdir()
            return str(number), folder
        except FileExistsError:
            number += 1
