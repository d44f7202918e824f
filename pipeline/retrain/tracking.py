"""MLflow tracking and model registry: one run per candidate, registered versions, the champion alias.

Tracking URI: ``--tracking-uri``, else ``MLFLOW_TRACKING_URI``, else a local sqlite store in
``mlruns/mlflow.db`` with artifacts in ``mlruns/artifacts`` (git-ignored). MLflow's own version
numbers are the registry's business; the version scorers serve (the folder name under
``models/<name>/``) is recorded on each registered version as the tag ``served_version``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.retrain.layout import MLFLOW_DIR

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("_MLFLOW_TELEMETRY_PRE_WARM_DATABRICKS_SDK", "false")

SERVED_VERSION_TAG = "served_version"
CHAMPION_ALIAS = "champion"


def tracking_uri(explicit: str | None = None) -> str:
    """Return the tracking URI to use (see the module doc).

    Examples
    --------
    >>> tracking_uri("sqlite:////tmp/x.db")
    'sqlite:////tmp/x.db'
    """
    return explicit or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{MLFLOW_DIR / 'mlflow.db'}"


def _client(uri: str) -> Any:
    for noisy in ("alembic", "mlflow.store.db.utils", "mlflow.store.model_registry.abstract_store"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from mlflow import MlflowClient

    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _experiment_id(client: Any, uri: str, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri[len("sqlite:///") :]).parent / "artifacts").as_uri()
    return client.create_experiment(name, artifact_location=location)


def _flat(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat(f"{name}.", value))
        else:
            out[name] = value
    return out


def log_run(uri: str, name: str, params: Mapping[str, Any], metrics: Mapping[str, float], tags: Mapping[str, str], artifact_dirs: Mapping[str, Path]) -> tuple[str, str]:
    """Log one run: params (nested keys flattened with dots), metrics, tags and artifact folders.

    Parameters
    ----------
    uri : str
        Tracking URI.
    name : str
        Experiment name (the model name).
    params, metrics, tags : mapping
        What to log.
    artifact_dirs : mapping of str to pathlib.Path
        Artifact path in the run -> local folder to upload.

    Returns
    -------
    tuple of (str, str)
        Run id and the run's artifact URI.
    """
    client = _client(uri)
    run = client.create_run(_experiment_id(client, uri, name), tags=dict(tags))
    run_id = run.info.run_id
    try:
        from mlflow.entities import Metric, Param

        flat = _flat("", params)
        client.log_batch(run_id, params=[Param(k, str(v)[:6000]) for k, v in flat.items()], metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items()])
        for path, folder in artifact_dirs.items():
            client.log_artifacts(run_id, str(folder), path)
        client.set_terminated(run_id, "FINISHED")
    except Exception:
        client.set_terminated(run_id, "FAILED")
        raise
    return run_id, run.info.artifact_uri


def register(uri: str, name: str, run_id: str, source: str, served_version: str, tags: Mapping[str, str]) -> str:
    """Register ``source`` as a new version of ``name``; return MLflow's version number.

    The version carries the tag ``served_version`` (the folder scorers load) and ``tags``.
    """
    client = _client(uri)
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as e:
        if e.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = client.create_model_version(name, source=source, run_id=run_id, tags={SERVED_VERSION_TAG: served_version, **dict(tags)})
    return str(version.version)


def registered_versions(uri: str, name: str) -> list[Any]:
    """Return the registry's versions of ``name`` (empty when the model is not registered)."""
    client = _client(uri)
    return list(client.search_model_versions(f"name='{name}'"))


def max_served_version(uri: str, name: str) -> int:
    """Return the largest numeric ``served_version`` tag among registered versions (0 if none)."""
    numbers = [int(v.tags[SERVED_VERSION_TAG]) for v in registered_versions(uri, name) if v.tags.get(SERVED_VERSION_TAG, "").isdigit()]
    return max(numbers, default=0)


def set_champion(uri: str, name: str, served_version: str) -> str | None:
    """Point the registry alias ``champion`` at the version serving as ``served_version``.

    Returns
    -------
    str or None
        MLflow's version number, or None when that served version was never registered
        (e.g. the initial model from ``make model``).
    """
    matches = [v for v in registered_versions(uri, name) if v.tags.get(SERVED_VERSION_TAG) == served_version]
    if not matches:
        return None
    version = str(max(int(v.version) for v in matches))
    _client(uri).set_registered_model_alias(name, CHAMPION_ALIAS, version)
    return version


def tag_version(uri: str, name: str, served_version: str, tags: Mapping[str, str]) -> str | None:
    """Set ``tags`` on the registered version serving as ``served_version``; return its MLflow version (None if unregistered)."""
    matches = [v for v in registered_versions(uri, name) if v.tags.get(SERVED_VERSION_TAG) == served_version]
    if not matches:
        return None
    version = str(max(int(v.version) for v in matches))
    client = _client(uri)
    for k, v in tags.items():
        client.set_model_version_tag(name, version, k, v)
    return version
