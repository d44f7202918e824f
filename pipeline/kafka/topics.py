"""Topic creation from ``infra/topics.json`` (idempotent)."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from pipeline.errors import PipelineError
from pipeline.kafka.failures import ErrorLog, explain
from pipeline.kafka.settings import KafkaSettings, replication_for, topic_definition


class _Admin(AdminClient):
    """An admin client that remembers librdkafka's client errors (for :func:`explain`)."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.error_log = ErrorLog()
        self.principal = settings.principal
        super().__init__({**settings.client_config(), **self.error_log.config()})


def admin_client(settings: KafkaSettings) -> AdminClient:
    """Return an admin client of the cluster."""
    return _Admin(settings)


def topic_exists(admin: AdminClient, topic: str, timeout_s: float = 10.0) -> bool:
    """Return True if ``topic`` exists on the cluster.

    Raises
    ------
    PipelineError
        ``KAFKA_UNAVAILABLE`` (retriable) when the cluster does not answer in time.
    """
    try:
        metadata = admin.list_topics(timeout=timeout_s)
    except KafkaException as e:
        errors = getattr(admin, "error_log", None)
        explained = explain(errors.errors, getattr(admin, "principal", "?")) if errors else None
        raise explained or PipelineError("KAFKA_UNAVAILABLE", f"cluster metadata: {e}", retriable=True) from e
    return topic in metadata.topics


def replication_cap(admin: AdminClient, metadata, timeout_s: float = 10.0) -> int:
    """Return how many replicas a new topic may get: the cluster's ``default.replication.factor``.

    Read from a broker's config, it is what the operator set for the cluster's size, unlike the
    brokers alive right now (a broker that is restarting would leave the topic under-replicated for
    good). Without DescribeConfigs on the cluster, the live broker count. Mirrors ``replicationCap``
    in ``services/shared/kafka/topics.ts``.

    Parameters
    ----------
    admin : AdminClient
        An admin client of the cluster.
    metadata : ClusterMetadata
        Its metadata (``admin.list_topics()``), for a broker id and the live count.
    timeout_s : float, optional
        How long to wait for the broker's answer.

    Returns
    -------
    int
        The cap, at least 1.
    """
    live = max(1, len(metadata.brokers))
    broker = next(iter(metadata.brokers), None)
    if broker is None:
        return live
    resource = ConfigResource(ResourceType.BROKER, str(broker))
    try:
        configs = admin.describe_configs([resource], request_timeout=timeout_s)[resource].result(timeout=timeout_s)
        value = int(configs["default.replication.factor"].value)
    except (KafkaException, KeyError, ValueError, TypeError):
        return live
    return max(1, value)


def ensure_topic(settings: KafkaSettings, role: str, topic: str, timeout_s: float = 15.0) -> bool:
    """Create ``topic`` with the partitions and config of ``role`` in ``infra/topics.json`` if missing.

    Replication follows ``replication_for`` capped by :func:`replication_cap` (RF 3 and
    ``min.insync.replicas`` 2 on three brokers, RF 1 on one); with fewer brokers alive than that the
    broker refuses the topic and the error is retriable.

    Parameters
    ----------
    settings : KafkaSettings
        The cluster.
    role : str
        Topic role in ``infra/topics.json`` (e.g. ``'modelUpdates'``).
    topic : str
        Actual name (the role's default or its env override).
    timeout_s : float, optional
        How long to wait for the cluster.

    Returns
    -------
    bool
        True if this call created the topic, False if it existed.
    """
    admin = admin_client(settings)
    try:
        metadata = admin.list_topics(timeout=timeout_s)
    except KafkaException as e:
        raise PipelineError("KAFKA_UNAVAILABLE", f"cluster metadata: {e}", retriable=True) from e
    if topic in metadata.topics:
        return False
    definition = topic_definition(role)
    factor, min_insync = replication_for(definition, replication_cap(admin, metadata))
    config = {"min.insync.replicas": str(min_insync), **dict(definition["config"])}
    new = NewTopic(topic, num_partitions=int(definition["partitions"]), replication_factor=factor, config=config)
    future = admin.create_topics([new], operation_timeout=timeout_s, request_timeout=timeout_s)[topic]
    try:
        future.result(timeout=timeout_s)
    except KafkaException as e:
        if e.args and isinstance(e.args[0], KafkaError) and e.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        raise PipelineError("TOPIC_SETUP_FAILED", f"could not create {topic}: {e}", retriable=True) from e
    return True
