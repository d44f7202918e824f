"""New topics' replication on a real broker: the cluster's defaults (infra/topics.json pins none)."""

from __future__ import annotations

from confluent_kafka.admin import ConfigResource, ConfigSource, ResourceType

from pipeline.kafka.settings import kafka_settings
from pipeline.kafka.topics import admin_client, ensure_topic


def test_new_topics_take_the_clusters_replication_defaults(kafka_stack, unique_topic):
    settings = kafka_settings()
    admin = admin_client(settings)
    topic = unique_topic("model-updates")
    assert ensure_topic(settings, "modelUpdates", topic) is True
    assert ensure_topic(settings, "modelUpdates", topic) is False
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    # The one-broker test stack sets default.replication.factor=1 (infra/local/kafka-cluster.ts).
    assert partitions and all(len(p.replicas) == 1 for p in partitions.values())
    resource = ConfigResource(ResourceType.TOPIC, topic)
    configs = admin.describe_configs([resource], request_timeout=10)[resource].result(timeout=10)
    # Not set on the topic: the broker's min.insync.replicas applies.
    assert configs["min.insync.replicas"].source != ConfigSource.DYNAMIC_TOPIC_CONFIG.value
