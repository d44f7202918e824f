"""Producing records and waiting for the broker's acknowledgement of each."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, Message, Producer

from pipeline.errors import PipelineError
from pipeline.kafka.settings import KafkaSettings


def producer(settings: KafkaSettings) -> Producer:
    """Return an idempotent producer (``acks=all``) of the cluster."""
    return Producer({"bootstrap.servers": settings.brokers, "enable.idempotence": True, "acks": "all", "linger.ms": 5})


def produce_all(settings: KafkaSettings, topic: str, records: Iterable[tuple[bytes | None, bytes]], timeout_s: float = 30.0) -> list[tuple[int, int]]:
    """Produce ``(key, value)`` records to ``topic`` and wait until every one is acknowledged.

    Parameters
    ----------
    settings : KafkaSettings
        The cluster.
    topic : str
        Destination topic (must exist).
    records : iterable of (bytes or None, bytes)
        Keys and wire-format values, produced in order.
    timeout_s : float, optional
        Longest wait for the acknowledgements.

    Returns
    -------
    list of (int, int)
        ``(partition, offset)`` of each record, in order.

    Raises
    ------
    PipelineError
        ``KAFKA_PRODUCE_FAILED`` if any record was not acknowledged (retriable when the
        broker's error is).
    """
    client = producer(settings)
    results: list[tuple[int, int] | None] = []
    failures: list[KafkaError] = []

    def on_delivery(index: int):
        def callback(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                failures.append(error)
            else:
                results[index] = (message.partition(), message.offset())

        return callback

    for key, value in records:
        results.append(None)
        while True:
            try:
                client.produce(topic, value=value, key=key, on_delivery=on_delivery(len(results) - 1))
                break
            except BufferError:
                client.poll(0.1)
        client.poll(0)
    remaining = client.flush(timeout_s)
    if failures or remaining:
        retriable = all(e.retriable() for e in failures)
        detail = f"{len(failures)} failed ({failures[0]})" if failures else f"{remaining} not acknowledged in {timeout_s}s"
        raise PipelineError("KAFKA_PRODUCE_FAILED", f"producing to {topic}: {detail}", retriable=retriable)
    return [r for r in results if r is not None]
