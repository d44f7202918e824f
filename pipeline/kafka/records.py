"""Decoded values of a whole topic (see :mod:`pipeline.kafka.consume`), bad messages counted, not raised."""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

from pipeline.kafka.consume import read_topic
from pipeline.kafka.registry import DecodeFailure, SchemaRegistry
from pipeline.kafka.settings import KafkaSettings
from pipeline.schemas import record_name

RECORD_NAMES = {name: record_name(name) for name in ("scoring-log", "loan-outcome", "model-update", "drift-alert")}
"""Full Avro record name of each schema the pipeline reads, from ``schemas/<name>.avsc``."""


class TopicValues(NamedTuple):
    """What was read from a topic: decoded values (in offset order per partition) and failures by code."""

    values: list[dict[str, Any]]
    keys: list[bytes | None]
    failures: Counter

    @property
    def read(self) -> int:
        """Records read, decoded or not."""
        return len(self.values) + sum(self.failures.values())


def read_values(settings: KafkaSettings, registry: SchemaRegistry, topic: str, schema: str, timeout_s: float = 60.0) -> TopicValues:
    """Read and decode every committed record of ``topic`` whose value is a ``schema`` record.

    Parameters
    ----------
    settings : KafkaSettings
        The cluster.
    registry : SchemaRegistry
        Decodes the Confluent wire format.
    topic : str
        Topic to read to its current end.
    schema : str
        Schema file name (``'scoring-log'``, ``'loan-outcome'``, ``'model-update'``).
    timeout_s : float, optional
        Longest time to read the topic.

    Returns
    -------
    TopicValues
    """
    values, keys, failures = [], [], Counter()
    for record in read_topic(settings, topic, timeout_s):
        decoded = registry.decode(record.value, RECORD_NAMES[schema])
        if isinstance(decoded, DecodeFailure):
            failures[decoded.code] += 1
        else:
            values.append(decoded.value)
            keys.append(record.key)
    return TopicValues(values, keys, failures)
