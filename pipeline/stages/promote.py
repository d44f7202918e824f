"""Promote / rollback: announce the champion on the compacted ``model-updates`` topic.

``--version V`` announces ``models/<name>/V/`` with action PROMOTE (its files are verified first:
sha256 of model.onnx = metadata.model_sha256, feature order = the schema's); ``previous_version`` is
the champion announced until now (the latest record on the topic, else ``champion.json``, else the
``gate.default_champion`` version when its folder exists). ``--rollback`` re-announces the current announcement's
``previous_version`` with action ROLLBACK (a second rollback therefore returns to the version just
rolled back from). After the broker acknowledges the record, ``champion.json`` is rewritten (with
a history) and the MLflow registry alias ``champion`` points at the version, when it was registered.

Every change of champion carries an approval (``pipeline.retrain.approval``): ``--approved-by`` and
``--reason`` are required (``make promote VERSION=3 APPROVED_BY=jane REASON="..."``); the retrain loop
passes its own automatic approval. The approval goes into the ModelUpdate record, ``champion.json``
and the MLflow version's ``approval.*`` tags.

Usage::

    python -m pipeline.stages.promote --version 3 --approved-by jane --reason "..."
    python -m pipeline.stages.promote --rollback --approved-by jane --reason "..."
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, NamedTuple

from pipeline.artifacts import write_json_atomic
from pipeline.retrain import approval as approval_mod
from pipeline.retrain import tracking
from pipeline.retrain.announcement import announcer, champion_record, model_update
from pipeline.retrain.champion import current_announcement, default_folder, load_folder
from pipeline.errors import PipelineError
from pipeline.retrain.layout import artifact_uri, champion_file, model_dir, resolve
from pipeline.retrain.params import Params, replace
from pipeline.stages.common import EXIT_OK, load_params, parser, run
from pipeline.store.client import publish_bundle, store_url


class Announced(NamedTuple):
    """What was published and where."""

    update: dict[str, Any]
    topic: str
    partition: int
    offset: int
    mlflow_version: str | None


def _default_version(params: Params, promoting: str) -> str | None:
    folder = default_folder(resolve(params.models_dir), params.model_name, params.gate.default_champion)
    if folder is None or params.gate.default_champion == promoting:
        return None
    return params.gate.default_champion


def announce(params: Params, version: str, action: str, previous_version: str | None, reason: str, uri: str | None, approval: dict[str, Any] | None = None) -> Announced:
    """Verify ``version``'s folder, publish its ModelUpdate, then record it in champion.json and MLflow."""
    from pipeline.kafka.model_updates import publish

    models_dir = resolve(params.models_dir)
    folder = model_dir(models_dir, params.model_name, version)
    champion = load_folder(folder, f"models folder {folder}")
    if champion.version != version:
        raise PipelineError("CHAMPION_INVALID", f"{folder}/metadata.json says version {champion.version!r}, not {version!r}")
    # With an artifact store (ARTIFACT_STORE_URL) the bundle is published there and announced by its
    # http(s) URL, so scorers on other machines download it; else by its folder.
    store = store_url()
    location = publish_bundle(folder, store, params.model_name, version) if store else artifact_uri(folder)
    update = model_update(params.model_name, version, location, champion.metadata["model_sha256"], action, previous_version, champion.metadata.get("metrics", {}), reason, int(time.time() * 1000), announcer(), approval)
    published = publish(update)
    path = champion_file(models_dir, params.model_name)
    previous_record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    write_json_atomic(path, champion_record(update, previous_record, published.topic, published.partition, published.offset))
    mlflow_version = None
    if uri is not None:
        mlflow_version = tracking.set_champion(uri, params.model_name, version)
        if approval is not None:
            tracking.tag_version(uri, params.model_name, version, approval_mod.tags(approval))
    return Announced(update, published.topic, published.partition, published.offset, mlflow_version)


def promote(params: Params, version: str, reason: str = "", uri: str | None = None, approval: dict[str, Any] | None = None) -> Announced:
    """Announce ``version`` as champion (action PROMOTE) with its ``approval``."""
    current, _ = current_announcement("kafka", resolve(params.models_dir), params.model_name)
    if current is None:
        previous = _default_version(params, version)
    elif current["version"] == version:
        previous = current.get("previous_version")
    else:
        previous = current["version"]
    return announce(params, version, "PROMOTE", previous, reason or "promoted", uri, approval)


def rollback(params: Params, reason: str = "", uri: str | None = None, approval: dict[str, Any] | None = None) -> Announced:
    """Re-announce the current announcement's previous version (action ROLLBACK).

    Raises
    ------
    PipelineError
        ``NOTHING_TO_ROLL_BACK`` when nothing was announced or it has no previous version.
    """
    current, source = current_announcement("kafka", resolve(params.models_dir), params.model_name)
    if current is None or not current.get("previous_version"):
        raise PipelineError("NOTHING_TO_ROLL_BACK", f"no announced champion with a previous version (looked at the model-updates topic and {source})")
    target = current["previous_version"]
    return announce(params, target, "ROLLBACK", current["version"], reason or f"rollback from v{current['version']}", uri, approval)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns 0, 2 on a bad version, 75 when Kafka is unavailable."""
    p = parser("promote", __doc__)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--version", help="version folder under models/<name>/ to announce")
    what.add_argument("--rollback", action="store_true", help="re-announce the previous champion")
    p.add_argument("--reason", default="", help="why (required): recorded in the approval")
    p.add_argument("--approved-by", default="", help="who approves this change of champion (required)")
    p.add_argument("--models-dir", help="parent of <model name>/<version>/ (default: models_dir)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI for the champion alias (default: MLFLOW_TRACKING_URI, else sqlite in mlruns/)")
    args = p.parse_args(argv)

    def body() -> int:
        params = replace(load_params(args.params), "", models_dir=args.models_dir)
        uri = tracking.tracking_uri(args.tracking_uri)
        gate = None
        if not args.rollback:
            meta_path = resolve(params.models_dir) / params.model_name / args.version / "metadata.json"
            gate = json.loads(meta_path.read_text(encoding="utf-8")).get("gate") if meta_path.is_file() else None
        approval = approval_mod.manual(args.approved_by, args.reason, int(time.time() * 1000), gate)
        result = rollback(params, args.reason, uri, approval) if args.rollback else promote(params, args.version, args.reason, uri, approval)
        u = result.update
        print(f"{u['action'].lower()}: {u['model_name']} v{u['version']} (previous v{u['previous_version']}) announced on "
              f"{result.topic} [{result.partition}@{result.offset}], artifact {u['artifact_uri']}, sha256 {u['sha256'][:16]}...")
        print(f"  approved by {approval['approved_by']}: {approval['reason']}")
        print(f"  MLflow alias champion -> " + (f"version {result.mlflow_version}" if result.mlflow_version else "unchanged (version not in the registry)"))
        return EXIT_OK

    return run(body)


if __name__ == "__main__":
    sys.exit(main())
