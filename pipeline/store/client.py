"""Model bundles on an HTTP(S) artifact store, so scorers on many machines need no shared volume.

A bundle version lives at ``<store>/<model name>/<version>/<file>``. Publishing PUTs each file
(``metadata.json`` last: its presence marks a complete bundle, as on disk); fetching GETs the files the
scorer reads and refuses a ``model.onnx`` whose sha256 is not the announced one. Any store that answers
GET and PUT on those paths works: :mod:`pipeline.store.server` (local, compose), a WebDAV-enabled web
server, or MLflow's artifact proxy (``<mlflow>/api/2.0/mlflow-artifacts/artifacts``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlparse

import requests

from pipeline.errors import PipelineError

BUNDLE_FILES = ("model.onnx", "metadata.json", "trees.json", "golden.json")
"""The files a scorer downloads from an http(s) artifact URI (``BUNDLE_FILES`` in
``services/scorer/model/artifact.ts``; a test keeps the two lists equal)."""
MODEL_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
STORE_ENV = "ARTIFACT_STORE_URL"
TIMEOUT_S = 60.0


def store_url(env: Mapping[str, str] | None = None) -> str | None:
    """Return ``ARTIFACT_STORE_URL`` without a trailing slash, or None when unset.

    Raises
    ------
    PipelineError
        ``CONFIG_INVALID`` when it is set but not an http(s) URL.

    Examples
    --------
    >>> store_url({"ARTIFACT_STORE_URL": "http://store:8000/"}), store_url({})
    ('http://store:8000', None)
    """
    env = os.environ if env is None else env
    raw = (env.get(STORE_ENV) or "").strip()
    if not raw:
        return None
    if urlparse(raw).scheme not in ("http", "https") or not urlparse(raw).netloc:
        raise PipelineError("CONFIG_INVALID", f"{STORE_ENV}: {raw!r} is not an http(s) URL")
    return raw.rstrip("/")


def is_http(uri: str) -> bool:
    """Return True for an ``http://`` or ``https://`` artifact URI.

    Examples
    --------
    >>> is_http("https://s/m/1"), is_http("models/m/1")
    (True, False)
    """
    return uri.startswith(("http://", "https://"))


def bundle_url(base: str, name: str, version: str) -> str:
    """Return the folder URL of one version.

    Examples
    --------
    >>> bundle_url("http://s:8000", "credit-default-classifier", "3")
    'http://s:8000/credit-default-classifier/3'
    """
    return f"{base.rstrip('/')}/{quote(name)}/{quote(version)}"


def _failed(action: str, url: str, detail: str, retriable: bool) -> PipelineError:
    return PipelineError("ARTIFACT_STORE_FAILED", f"{action} {url}: {detail}", retriable=retriable)


def publish_bundle(folder: Path, base: str, name: str, version: str) -> str:
    """PUT every file of a bundle folder to the store; return the version's folder URL.

    Parameters
    ----------
    folder : pathlib.Path
        A registered version's folder (``model.onnx``, ``metadata.json``, ...).
    base : str
        The store's URL (``ARTIFACT_STORE_URL``).
    name, version : str
        Model name and version: the path under ``base``.

    Returns
    -------
    str
        ``<base>/<name>/<version>``, the ``artifact_uri`` to announce.

    Raises
    ------
    PipelineError
        ``ARTIFACT_STORE_FAILED`` (retriable unless the store answered 4xx).
    """
    url = bundle_url(base, name, version)
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if METADATA_FILE not in files or MODEL_FILE not in files:
        raise PipelineError("MODEL_INVALID", f"{folder} is not a bundle (needs {MODEL_FILE} and {METADATA_FILE})")
    for file in [f for f in files if f != METADATA_FILE] + [METADATA_FILE]:
        target = f"{url}/{quote(file)}"
        try:
            with (folder / file).open("rb") as body:
                answer = requests.put(target, data=body, timeout=TIMEOUT_S)
        except requests.RequestException as e:
            raise _failed("PUT", target, str(e), True) from e
        if not answer.ok:
            raise _failed("PUT", target, f"answered {answer.status_code}", answer.status_code >= 500)
    return url


def fetch_bundle(uri: str, out: Path, sha256: str) -> Path:
    """GET a bundle's files into ``out`` and check ``model.onnx`` against ``sha256``.

    The files land in a temporary folder beside ``out`` that is renamed once complete and verified, so
    ``out`` never holds a partial or unverified bundle.

    Parameters
    ----------
    uri : str
        The version's folder URL.
    out : pathlib.Path
        Destination folder (replaced if it exists).
    sha256 : str
        Expected hex sha256 of ``model.onnx``.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    PipelineError
        ``ARTIFACT_STORE_FAILED`` when a download fails (retriable unless 4xx), ``MODEL_SHA256_MISMATCH``
        (not retriable) when ``model.onnx`` is not the announced file.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for file in BUNDLE_FILES:
            source = f"{uri.rstrip('/')}/{file}"
            try:
                answer = requests.get(source, timeout=TIMEOUT_S)
            except requests.RequestException as e:
                raise _failed("GET", source, str(e), True) from e
            if not answer.ok:
                raise _failed("GET", source, f"answered {answer.status_code}", answer.status_code >= 500)
            (staging / file).write_bytes(answer.content)
        actual = hashlib.sha256((staging / MODEL_FILE).read_bytes()).hexdigest()
        if actual != sha256.lower():
            raise PipelineError("MODEL_SHA256_MISMATCH", f"{uri}/{MODEL_FILE} has sha256 {actual}, expected {sha256}: refusing it")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
        return out
    finally:
        shutil.rmtree(staging, ignore_errors=True)
