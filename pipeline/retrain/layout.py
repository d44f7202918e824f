"""Where the pipeline's files live (relative to the repository root unless given absolute)."""

from __future__ import annotations

from pathlib import Path

from pipeline.paths import REPO_ROOT

MODEL_NAME = "credit-default-classifier"
PARAMS_FILE = REPO_ROOT / "params.yaml"
DATA_DIR = REPO_ROOT / "pipeline" / "data"
"""Stage outputs (git-ignored); dvc.yaml declares the same paths."""
DATASET_CSV = DATA_DIR / "dataset.csv"
DATASET_INFO = DATA_DIR / "dataset.json"
TRAIN_DIR = DATA_DIR / "train"
GATE_REPORT = DATA_DIR / "gate.json"
CANDIDATE_DIR = DATA_DIR / "candidate"
MODELS_DIR = REPO_ROOT / "models"
"""Parent of ``<model name>/<version>/`` folders that scorers load."""
MLFLOW_DIR = REPO_ROOT / "mlruns"
"""Default local MLflow store (sqlite database + artifacts), git-ignored."""


def resolve(path: Path | str, root: Path = REPO_ROOT) -> Path:
    """Return ``path`` made absolute against ``root`` (the repository root by default).

    Examples
    --------
    >>> resolve("/tmp/x").as_posix()
    '/tmp/x'
    >>> resolve("models", Path("/r")).as_posix()
    '/r/models'
    """
    path = Path(path)
    return path if path.is_absolute() else root / path


def model_dir(models_dir: Path, name: str, version: str) -> Path:
    """Return the folder of one model version: ``<models_dir>/<name>/<version>``."""
    return models_dir / name / version


def champion_file(models_dir: Path, name: str) -> Path:
    """Return ``<models_dir>/<name>/champion.json``, the local record of the announced champion."""
    return models_dir / name / "champion.json"


def artifact_uri(folder: Path, root: Path = REPO_ROOT) -> str:
    """Return how a ModelUpdate names ``folder``: relative to ``root`` when inside it, else ``file://``.

    Examples
    --------
    >>> artifact_uri(Path("/r/models/m/2"), Path("/r"))
    'models/m/2'
    >>> artifact_uri(Path("/tmp/m/2"), Path("/r"))
    'file:///tmp/m/2'
    """
    folder = folder.resolve() if folder.exists() else folder
    try:
        return folder.relative_to(root).as_posix()
    except ValueError:
        return folder.as_uri()


def folder_of_uri(uri: str, root: Path = REPO_ROOT) -> Path:
    """Inverse of :func:`artifact_uri` for local URIs (``file://`` or repository-relative).

    Examples
    --------
    >>> folder_of_uri("file:///tmp/m/2").as_posix()
    '/tmp/m/2'
    >>> folder_of_uri("models/m/2", Path("/r")).as_posix()
    '/r/models/m/2'
    """
    if uri.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(uri).path))
    if "://" in uri:
        raise ValueError(f"not a local artifact URI: {uri}")
    return resolve(uri, root)
