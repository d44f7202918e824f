"""Publishing ModelUpdate records on the compacted ``model-updates`` topic (keyed by model name)."""

from __future__ import annotations

from typing import Any, NamedTuple

from pipeline.kafka.produce import produce_all
from pipeline.kafka.registry import SchemaRegistry
from pipeline.kafka.settings import kafka_settings, topic_name
from pipeline.kafka.topics import ensure_topic


class Published(NamedTuple):
    """Where a record landed."""

    topic: str
    partition: int
    offset: int
    schema_id: int


def publish(update: dict[str, Any]) -> Published:
    """Create the topic if missing (``infra/topics.json``: 1 partition, compacted), register the schema
    under ``<topic>-value``, and produce ``update`` keyed by its ``model_name``; wait for the ack.

    Raises
    ------
    PipelineError
        Retriable when the cluster or the registry is unavailable.
    """
    settings = kafka_settings()
    topic = topic_name("modelUpdates")
    ensure_topic(settings, "modelUpdates", topic)
    registry = SchemaRegistry.from_settings(settings)
    schema_id = registry.register_value_schema(topic, "model-update")
    value = registry.encode(schema_id, update)
    ((partition, offset),) = produce_all(settings, topic, [(update["model_name"].encode("utf-8"), value)])
    return Published(topic, partition, offset, schema_id)
