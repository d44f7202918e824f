"""Extract: build the training set (``dataset.csv``) and its description (``dataset.json``, with the sha256).

Sources (``data.source`` in params.yaml, or ``--source``):

* ``generate`` - the synthetic population (``data.rows``, ``data.seed``, optional ``data.shock_at``);
  rows carry their true default probability (never used for training, only for the oracle AUC).
* ``file`` - a CSV, JSONL or Parquet file (``data.file``) with the dataset's columns.
* ``kafka`` - the ``scoring-log`` topic's features joined with the ``loan-outcomes`` topic's labels by
  application_id, for applications submitted in ``[data.since, data.until)`` (ISO-8601, epoch ms, or
  a duration before now such as ``30d``; empty = open). Both topics are read to their current end,
  read_committed, values decoded through the schema registry.

Generated data also yields the applicants' protected attributes (``schemas/population.json``
``demographics``), written to their own file, ``demographics.csv`` beside ``dataset.csv`` (``--demographics``):
never a column of the training set, read only by the gate's fairness checks (docs/fairness.md). Files and
Kafka yield none: the pipeline's principal may not read the ``applicant-demographics`` topic.

Usage::

    python -m pipeline.stages.extract [--source kafka] [--since 30d] [--out pipeline/data/dataset.csv]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from pipeline.artifacts import iso_utc, write_bytes_atomic, write_json_atomic
from pipeline.retrain.dataset import Dataset, file_sha256, from_records, read_file, to_csv_bytes
from pipeline.errors import PipelineError
from pipeline.fairness.groups import GroupTable
from pipeline.fairness.groups import to_csv_bytes as groups_csv_bytes
from pipeline.retrain.generate import generated_with_groups
from pipeline.retrain.join import join, parse_bound
from pipeline.retrain.layout import DATASET_CSV, DATASET_INFO, resolve
from pipeline.retrain.params import DataParams, replace
from pipeline.population.features import feature_names
from pipeline.stages.common import EXIT_OK, load_params, parser, run


class Extracted(NamedTuple):
    """The dataset and its description (the content of ``dataset.json``)."""

    dataset: Dataset
    info: dict[str, Any]


def demographics_path(dataset_csv: Path) -> Path:
    """Return where the protected attributes of ``dataset_csv``'s rows live: ``demographics.csv`` beside it."""
    return dataset_csv.with_name("demographics.csv")


def from_kafka(data: DataParams, now_ms: int | None = None) -> tuple[Dataset, dict[str, Any]]:
    """Join the scoring log with the outcomes read from the cluster (see the module doc).

    Parameters
    ----------
    data : DataParams
        ``since`` / ``until`` window and ``kafka_timeout_s``.
    now_ms : int, optional
        Reference time of relative bounds; defaults to now.

    Returns
    -------
    tuple of (Dataset, dict)
        The dataset and the counts of what was read, joined and dropped.
    """
    from pipeline.kafka.records import read_values
    from pipeline.kafka.registry import SchemaRegistry
    from pipeline.kafka.settings import kafka_settings, topic_name

    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    since, until = parse_bound(data.since, now_ms), parse_bound(data.until, now_ms)
    settings = kafka_settings()
    registry = SchemaRegistry.from_settings(settings)
    log_topic, outcome_topic = topic_name("scoringLog"), topic_name("outcomes")
    logs = read_values(settings, registry, log_topic, "scoring-log", data.kafka_timeout_s)
    outcomes = read_values(settings, registry, outcome_topic, "loan-outcome", data.kafka_timeout_s)
    rows, stats = join(logs.values, outcomes.values, since, until)
    dataset, dropped = from_records(rows, feature_names())
    info = {
        "topics": {"scoring_log": log_topic, "outcomes": outcome_topic},
        "window_requested": {"since": None if since is None else iso_utc(since), "until": None if until is None else iso_utc(until)},
        "undecodable": {"scoring_log": dict(logs.failures), "outcomes": dict(outcomes.failures)},
        "join": stats.as_dict(),
        "dropped": dropped.reasons,
    }
    return dataset, info


def extract(data: DataParams) -> tuple[Dataset, dict[str, Any], GroupTable | None]:
    """Return the dataset of ``data.source``, source-specific details and (generated data only) the groups.

    Raises
    ------
    PipelineError
        ``DATASET_INVALID`` when the source yields no usable row or only one class.
    """
    if data.source == "generate":
        dataset, groups = generated_with_groups(data.rows, data.seed, data.shock_at)
        details: dict[str, Any] = {"rows_requested": data.rows, "seed": data.seed, "shock_at": data.shock_at}
    elif data.source == "file":
        dataset, dropped = read_file(resolve(data.file or ""), feature_names())
        details = {"file": str(data.file), "file_sha256": file_sha256(resolve(data.file or "")), "dropped": dropped.reasons}
        dataset = _window(dataset, data)
        groups = None
    else:
        dataset, details = from_kafka(data)
        groups = None
    if dataset.rows == 0:
        raise PipelineError("DATASET_INVALID", f"source {data.source!r} gave no usable row ({details})")
    if len(set(dataset.defaulted.tolist())) < 2:
        raise PipelineError("DATASET_INVALID", f"source {data.source!r} gave {dataset.rows} rows of one class only")
    return dataset, details, groups


def _window(dataset: Dataset, data: DataParams) -> Dataset:
    now_ms = int(time.time() * 1000)
    since, until = parse_bound(data.since, now_ms), parse_bound(data.until, now_ms)
    keep = np.ones(dataset.rows, dtype=bool)
    if since is not None:
        keep &= dataset.submitted_at >= since
    if until is not None:
        keep &= dataset.submitted_at < until
    return Dataset(*(a[keep] for a in dataset[:5]), dataset.feature_names)


def write(dataset: Dataset, details: dict[str, Any], data: DataParams, out: Path, info_path: Path, groups: GroupTable | None = None) -> Extracted:
    """Write ``dataset.csv`` and ``dataset.json`` (the file's sha256, rows, window, default rate, source).

    The groups, when there are any, go to :func:`demographics_path` - a separate file, never a column of
    ``dataset.csv``; without groups an older file there is removed (it would describe other rows).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out, to_csv_bytes(dataset))
    groups_path = demographics_path(out)
    if groups is not None:
        write_bytes_atomic(groups_path, groups_csv_bytes(groups))
    else:
        groups_path.unlink(missing_ok=True)
    info = {
        "source": data.source,
        "file": out.name,
        "sha256": file_sha256(out),
        "rows": dataset.rows,
        "feature_names": list(dataset.feature_names),
        "window": {"from": iso_utc(int(dataset.submitted_at.min())), "to": iso_utc(int(dataset.submitted_at.max()))},
        "default_rate": float(dataset.defaulted.mean()),
        "true_probability_known": bool(np.isfinite(dataset.true_probability).all()),
        "demographics": {"file": groups_path.name, "rows": groups.rows, "attributes": sorted(groups.columns)} if groups is not None else None,
        "details": details,
    }
    write_json_atomic(info_path, info)
    return Extracted(dataset, info)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0, 2 on bad input, 75 when Kafka is unavailable)."""
    p = parser("extract", __doc__)
    p.add_argument("--source", choices=["generate", "file", "kafka"])
    p.add_argument("--file", help="input file for --source file (.csv, .jsonl, .parquet)")
    p.add_argument("--rows", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--shock-at", type=float, help="fraction of the time window from which the population is shocked")
    p.add_argument("--since", help="window start on submitted_at: ISO-8601, epoch ms, or e.g. 30d before now")
    p.add_argument("--until", help="window end (exclusive), same forms")
    p.add_argument("--out", type=Path, default=DATASET_CSV)
    p.add_argument("--info", type=Path, default=DATASET_INFO)
    args = p.parse_args(argv)

    def body() -> int:
        params = replace(load_params(args.params), "data", source=args.source, file=args.file, rows=args.rows, seed=args.seed, shock_at=args.shock_at, since=args.since, until=args.until)
        started = time.perf_counter()
        dataset, details, groups = extract(params.data)
        result = write(dataset, details, params.data, args.out, args.info, groups)
        info = result.info
        print(f"extract: {info['rows']} rows from {info['source']} in {time.perf_counter() - started:.1f}s, "
              f"{info['window']['from']} .. {info['window']['to']}, default rate {info['default_rate']:.3f}")
        if "join" in details:
            print(f"  join: {details['join']}, undecodable: {details['undecodable']}, dropped: {details['dropped']}")
        print(f"  wrote {args.out} (sha256 {info['sha256'][:16]}...) and {args.info}")
        if groups is not None:
            print(f"  wrote {demographics_path(args.out)} ({groups.rows} rows of {', '.join(sorted(groups.columns))}; for the gate's fairness checks only)")
        return EXIT_OK

    return run(body)


if __name__ == "__main__":
    sys.exit(main())
