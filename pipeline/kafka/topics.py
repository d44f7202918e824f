"""Topic creation from ``infra/topics.json`` (idempotent)."""

from __future__ import annotations

import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from pipeline.errors import PipelineError
from pipeline.kafka.failures import ErrorLog, explain
from pipeline.kafka.settings import KafkaSettings, replication_of, topic_definition


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


def ensure_topic(settings: KafkaSettings, role: str, topic: str, timeout_s: float = 15.0) -> bool:
    """Create ``topic`` with the partitions and config of ``role`` in ``infra/topics.json`` if missing.

    Replication follows :func:`pipeline.kafka.settings.replication_of` (the cluster's defaults unless
    the role pins its own); with fewer brokers alive than the factor the broker refuses the topic and
    the error is retriable.

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
    factor, replication_config = replication_of(definition)
    config = {**replication_config, **dict(definition["config"])}
    new = NewTopic(topic, num_partitions=int(definition["partitions"]), replication_factor=factor, config=config)
    future = admin.create_topics([new], operation_timeout=timeout_s, request_timeout=timeout_s)[topic]
    try:
        future.result(timeout=timeout_s)
    except KafkaException as e:
        if e.args and isinstance(e.args[0], KafkaError) and e.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        raise PipelineError("TOPIC_SETUP_FAILED", f"could not create {topic}: {e}", retriable=True) from e
    _wait_for_leaders(admin, topic, timeout_s)
    return True


def _wait_for_leaders(admin: AdminClient, topic: str, timeout_s: float) -> None:
    """Wait until every partition of a topic just created has a leader in the metadata (as the services'
    ``ensureTopics`` does): a caller that describes or produces right away may otherwise see none."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            partitions = admin.list_topics(topic, timeout=max(1.0, deadline - time.monotonic())).topics[topic].partitions
            if partitions and all(p.leader >= 0 for p in partitions.values()):
                return
        except (KafkaException, KeyError):
            pass
        if time.monotonic() >= deadline:
            raise PipelineError("TOPIC_SETUP_FAILED", f"{topic} was created but has no partition leaders after {timeout_s} s", retriable=True)
        time.sleep(0.1)
