"""Reading a whole topic as it is now: every partition from the beginning to its current end.

The end of each partition is fixed when reading starts (its high watermark); records produced
later are not read. ``isolation.level=read_committed``: records of aborted or still-open
transactions are never returned (a partition's end for such a consumer is its last stable
offset, signalled by a partition-EOF event). No consumer group offsets are committed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import NamedTuple

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from pipeline.errors import PipelineError
from pipeline.kafka.settings import KafkaSettings


class RawRecord(NamedTuple):
    """One record as stored: partition, offset, key and value bytes."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def _consumer(settings: KafkaSettings) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": settings.brokers,
            "group.id": f"pipeline-read-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
        }
    )


def read_topic(settings: KafkaSettings, topic: str, timeout_s: float = 60.0, batch: int = 5000) -> Iterator[RawRecord]:
    """Yield every committed record of ``topic`` up to its end at the time of the call.

    Records come partition by partition in offset order within each partition (interleaved
    across partitions).

    Parameters
    ----------
    settings : KafkaSettings
        The cluster.
    topic : str
        Topic name; a missing topic yields nothing.
    timeout_s : float, optional
        Longest time to reach the end of every partition.
    batch : int, optional
        Records fetched per ``consume`` call.

    Yields
    ------
    RawRecord

    Raises
    ------
    PipelineError
        ``KAFKA_UNAVAILABLE`` (retriable) if the cluster does not answer, ``KAFKA_READ_TIMEOUT``
        (retriable) if the end is not reached within ``timeout_s``.
    """
    consumer = _consumer(settings)
    try:
        try:
            metadata = consumer.list_topics(topic, timeout=10)
        except KafkaException as e:
            raise PipelineError("KAFKA_UNAVAILABLE", f"metadata of {topic}: {e}", retriable=True) from e
        described = metadata.topics.get(topic)
        if described is None or described.error is not None or not described.partitions:
            return
        ends: dict[int, int] = {}
        for partition in described.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10, cached=False)
            if high > low:
                ends[partition] = high
        if not ends:
            return
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        pending = set(ends)
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise PipelineError("KAFKA_READ_TIMEOUT", f"{topic}: partitions {sorted(pending)} not read to their end in {timeout_s}s", retriable=True)
            for message in consumer.consume(num_messages=batch, timeout=0.5):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        pending.discard(message.partition())
                        continue
                    raise PipelineError("KAFKA_UNAVAILABLE", f"reading {topic}: {error}", retriable=error.retriable())
                partition, offset = message.partition(), message.offset()
                if partition not in pending:
                    continue
                if offset >= ends[partition] - 1:
                    pending.discard(partition)
                if offset < ends[partition]:
                    yield RawRecord(partition, offset, message.key(), message.value())
    finally:
        consumer.close()
