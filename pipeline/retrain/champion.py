"""The current champion: which version was last announced, and its artifacts.

Where the announcement is read from (``gate.champion`` in params.yaml, ``--champion``):

* ``kafka`` - the latest ModelUpdate for the model name on the ``model-updates`` topic (what every
  scorer follows); when the topic holds none, as ``file``.
* ``file`` - ``<models_dir>/<name>/champion.json``, which promote/rollback write after publishing;
  when absent, the version ``gate.default_champion`` (``1``: the model ``make model`` builds, which
  scorers serve before any promotion) if its folder exists; otherwise there is no champion.
* ``none`` - no champion (the comparison is skipped).
* any other value - a model folder to compare with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from pipeline.artifacts import sha256_bytes
from pipeline.errors import PipelineError
from pipeline.retrain.layout import artifact_uri, champion_file, folder_of_uri, model_dir, resolve
from pipeline.population.features import feature_names
from pipeline.store.client import fetch_bundle, is_http


class Champion(NamedTuple):
    """A champion model ready to be scored.

    Attributes
    ----------
    version : str
        Its version.
    folder : pathlib.Path
        Folder holding ``model.onnx`` and ``metadata.json``.
    source : str
        Where it was found (topic, champion.json, default folder, explicit folder).
    metadata : dict
        Its ``metadata.json``.
    model_bytes : bytes
        Its ``model.onnx``.
    """

    version: str
    folder: Path
    source: str
    metadata: dict[str, Any]
    model_bytes: bytes


def latest_from_topic(name: str, timeout_s: float = 30.0) -> tuple[dict[str, Any] | None, str]:
    """Return the latest ModelUpdate value for ``name`` on the model-updates topic (or None) and the topic."""
    from pipeline.kafka.records import read_values
    from pipeline.kafka.registry import SchemaRegistry
    from pipeline.kafka.settings import kafka_settings, topic_name

    settings = kafka_settings()
    topic = topic_name("modelUpdates")
    values = read_values(settings, SchemaRegistry.from_settings(settings), topic, "model-update", timeout_s).values
    mine = [v for v in values if v["model_name"] == name]
    return (mine[-1] if mine else None), topic


def latest_from_file(models_dir: Path, name: str) -> dict[str, Any] | None:
    """Return the announcement recorded in ``champion.json`` (without its history), or None."""
    path = champion_file(models_dir, name)
    if not path.is_file():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in record.items() if k != "history"}


def current_announcement(mode: str, models_dir: Path, name: str) -> tuple[dict[str, Any] | None, str]:
    """Return the current champion's announcement (None when nothing was announced) and its source.

    Parameters
    ----------
    mode : str
        ``'kafka'`` or ``'file'`` (see the module doc).
    models_dir : pathlib.Path
        Parent of the model folders.
    name : str
        Model name.

    Returns
    -------
    tuple of (dict or None, str)
    """
    if mode == "kafka":
        value, topic = latest_from_topic(name)
        if value is not None:
            return value, f"topic {topic}"
    value = latest_from_file(models_dir, name)
    return value, artifact_uri(champion_file(models_dir, name))


def load_folder(folder: Path, source: str, expected_sha256: str | None = None) -> Champion:
    """Read and verify a model folder (sha256 of model.onnx, feature order).

    Raises
    ------
    PipelineError
        ``CHAMPION_INVALID`` when files are missing, a checksum differs or the features are not the schema's.
    """
    meta_path, onnx_path = folder / "metadata.json", folder / "model.onnx"
    if not meta_path.is_file() or not onnx_path.is_file():
        raise PipelineError("CHAMPION_INVALID", f"champion from {source}: {folder} lacks model.onnx or metadata.json")
    metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    model_bytes = onnx_path.read_bytes()
    sha = sha256_bytes(model_bytes)
    for what, want in (("metadata.model_sha256", metadata.get("model_sha256")), ("announced sha256", expected_sha256)):
        if want is not None and want != sha:
            raise PipelineError("CHAMPION_INVALID", f"champion from {source}: {onnx_path} has sha256 {sha}, {what} is {want}")
    if metadata.get("feature_names") != feature_names():
        raise PipelineError("CHAMPION_INVALID", f"champion from {source}: feature order {metadata.get('feature_names')} is not the schema's")
    return Champion(str(metadata["version"]), folder, source, metadata, model_bytes)


def resolve_champion(mode: str, models_dir: Path, name: str, default_champion: str | None) -> Champion | None:
    """Return the champion to compare a candidate with, or None (see the module doc).

    Parameters
    ----------
    mode : str
        ``'kafka'``, ``'file'``, ``'none'`` or a folder path.
    models_dir : pathlib.Path
        Parent of the model folders.
    name : str
        Model name.
    default_champion : str or None
        Version used when nothing was announced (skipped if its folder does not exist).

    Returns
    -------
    Champion or None
    """
    if mode == "none":
        return None
    if mode not in ("kafka", "file"):
        return load_folder(resolve(mode), f"folder {mode}")
    announcement, source = current_announcement(mode, models_dir, name)
    if announcement is not None:
        uri = announcement["artifact_uri"]
        if is_http(uri):
            # A bundle on an artifact store: downloaded (sha256 checked) into a hidden cache of models_dir.
            folder = fetch_bundle(uri, models_dir / ".fetched" / f"{name}-{announcement['version']}", announcement["sha256"])
            return load_folder(folder, f"{source} ({uri})", announcement["sha256"])
        return load_folder(folder_of_uri(uri), source, announcement["sha256"])
    default = default_folder(models_dir, name, default_champion)
    if default is not None:
        return load_folder(default, f"default version {default_champion} (nothing announced yet)")
    return None


def default_folder(models_dir: Path, name: str, default_champion: str | None) -> Path | None:
    """Return the folder of the default champion version if it holds a model, else None."""
    if not default_champion:
        return None
    folder = model_dir(models_dir, name, default_champion)
    return folder if (folder / "metadata.json").is_file() else None
