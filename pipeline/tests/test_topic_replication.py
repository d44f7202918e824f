"""New topics' replication on a real broker: capped by the cluster's default.replication.factor."""

from __future__ import annotations

from pipeline.kafka.settings import kafka_settings
from pipeline.kafka.topics import admin_client, ensure_topic, replication_cap


def test_replication_cap_is_the_brokers_default_replication_factor(kafka_stack, unique_topic):
    settings = kafka_settings()
    admin = admin_client(settings)
    metadata = admin.list_topics(timeout=10)
    # The one-broker test stack sets default.replication.factor=1 (infra/local/kafka-cluster.ts).
    assert replication_cap(admin, metadata) == 1
    topic = unique_topic("model-updates")
    assert ensure_topic(settings, "modelUpdates", topic) is True
    assert ensure_topic(settings, "modelUpdates", topic) is False
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    assert partitions and all(len(p.replicas) == 1 for p in partitions.values())
