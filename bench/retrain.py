"""Benchmark: wall time of retrain + gate + export on N rows (default 200k), from generated data and from Kafka.

Usage (from the repository root, the stack running for ``--kafka``)::

    python -m bench.retrain [--rows 200000] [--kafka]

``generated``: the population generator -> train -> gate (champion from champion.json / version 1) ->
export. ``kafka``: N scoring-log records and N outcomes are produced to fresh topics first (not timed),
then the same loop reads them back (extract = read both topics to the end, decode, join). The topics
are deleted afterwards. Prints one line of stage timings per run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from pipeline.stages import retrain


def _run(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = retrain.main(argv)
    if code != 0:
        raise SystemExit(f"retrain exited {code}:\n{out.getvalue()}")
    return [line for line in out.getvalue().splitlines() if line.startswith("timings:")][0]


def _fill_topics(rows: int, seed: int) -> tuple[str, str]:
    from confluent_kafka.admin import NewTopic

    from pipeline.retrain.generate import generated_dataset
    from pipeline.population.features import feature_names
    from pipeline.kafka.produce import produce_all
    from pipeline.kafka.registry import SchemaRegistry
    from pipeline.kafka.settings import kafka_settings
    from pipeline.kafka.topics import admin_client

    settings = kafka_settings()
    suffix = uuid.uuid4().hex[:8]
    log_topic, outcome_topic = f"bench-scoring-log-{suffix}", f"bench-loan-outcomes-{suffix}"
    admin = admin_client(settings)
    for future in admin.create_topics([NewTopic(t, num_partitions=6, replication_factor=1) for t in (log_topic, outcome_topic)]).values():
        future.result(timeout=30)
    registry = SchemaRegistry(settings.registry_url)
    log_id, outcome_id = registry.register_value_schema(log_topic, "scoring-log"), registry.register_value_schema(outcome_topic, "loan-outcome")
    ds = generated_dataset(rows, seed)
    names = feature_names()
    logs, outcomes = [], []
    for i in range(ds.rows):
        app, t = str(ds.application_id[i]), int(ds.submitted_at[i])
        logs.append((app.encode(), registry.encode(log_id, {
            "application_id": app, "submitted_at": t, "scored_at": t, "features": dict(zip(names, ds.X[i].tolist())),
            "probability_of_default": 0.2, "predicted_class": 0, "risk_category": "LOW", "decision": "APPROVE",
            "model_name": "credit-default-classifier", "model_version": "1", "inference_latency_ms": 1.0, "batch_size": 1,
            "source_topic": "loan-applications", "source_partition": 0, "source_offset": i})))
        outcomes.append((app.encode(), registry.encode(outcome_id, {"application_id": app, "defaulted": bool(ds.defaulted[i]), "observed_at": t + 1})))
    produce_all(settings, log_topic, logs, timeout_s=120)
    produce_all(settings, outcome_topic, outcomes, timeout_s=120)
    return log_topic, outcome_topic


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0."""
    p = argparse.ArgumentParser(prog="python -m bench.retrain", description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--kafka", action="store_true", help="also time the loop reading the rows from Kafka")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-retrain-") as tmp:
        started = time.perf_counter()
        print(f"generated, {args.rows} rows: {_run(['--source', 'generate', '--rows', str(args.rows), '--champion', 'file', '--stop-after', 'export', '--workdir', str(Path(tmp) / 'gen')])} "
              f"(process wall {time.perf_counter() - started:.1f}s)")
        if args.kafka:
            from confluent_kafka.admin import AdminClient

            from pipeline.kafka.settings import kafka_settings

            t0 = time.perf_counter()
            log_topic, outcome_topic = _fill_topics(args.rows, 42)
            print(f"  (produced {args.rows} scoring-log records + {args.rows} outcomes in {time.perf_counter() - t0:.1f}s, not timed below)")
            os.environ["TOPIC_SCORING_LOG"], os.environ["TOPIC_OUTCOMES"] = log_topic, outcome_topic
            try:
                print(f"kafka, {args.rows} rows: {_run(['--source', 'kafka', '--champion', 'file', '--stop-after', 'export', '--workdir', str(Path(tmp) / 'kafka')])}")
            finally:
                admin = AdminClient({"bootstrap.servers": kafka_settings().brokers})
                for future in admin.delete_topics([log_topic, outcome_topic], operation_timeout=30).values():
                    future.result(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
