"""A consumer-group member of one topic that commits by hand: each record goes to exactly one member.

Members of the same ``group.id`` split the topic's partitions, so a record is handled by one of them;
the offset is committed (synchronously) only after the record was handled, so a member that dies
mid-way leaves it to the next owner. While a long task runs, :meth:`GroupMember.pause` stops fetching
and :meth:`GroupMember.poll` keeps the membership alive (``max.poll.interval.ms``). The assignor is
``cooperative-sticky``: a member joining or leaving moves only the partitions that must move, so a
partition whose record is being handled stays with its owner (an eager assignor would revoke it and
could hand the uncommitted record to the newcomer, which would handle it a second time).
"""

from __future__ import annotations

import threading

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from pipeline.errors import PipelineError
from pipeline.kafka.failures import ErrorLog, explain
from pipeline.kafka.settings import KafkaSettings


class GroupMember:
    """One member of ``group_id`` on ``topic`` (read_committed, manual commits).

    Parameters
    ----------
    settings : KafkaSettings
        The cluster.
    topic : str
        The topic to subscribe to.
    group_id : str
        The consumer group (its members share the partitions).
    offset_reset : str, optional
        Where a group without committed offsets starts: ``'latest'`` (default: old requests are not
        replayed on a first deployment) or ``'earliest'``.
    """

    def __init__(self, settings: KafkaSettings, topic: str, group_id: str, offset_reset: str = "latest") -> None:
        self.errors = ErrorLog()
        self.principal = settings.principal
        self.topic = topic
        self._assigned: list[TopicPartition] = []
        self.revoked = 0
        """Partitions taken from this member by rebalances so far."""
        self._joined = threading.Event()
        self._consumer = Consumer(
            {
                **settings.client_config(),
                **self.errors.config(),
                "group.id": group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": offset_reset,
                "isolation.level": "read_committed",
                "session.timeout.ms": 30_000,
                "max.poll.interval.ms": 300_000,
                "partition.assignment.strategy": "cooperative-sticky",
            }
        )
        self._consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    # Cooperative rebalancing: the callbacks get the partitions added or taken away, not the whole assignment;
    # confluent-kafka applies them (incremental assign/unassign) after the callback returns.
    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned = self._assigned + [tp for tp in partitions if tp.partition not in self.assigned]
        self._joined.set()

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        gone = {tp.partition for tp in partitions}
        self.revoked += len(gone)
        self._assigned = [tp for tp in self._assigned if tp.partition not in gone]

    @property
    def joined(self) -> bool:
        """True once the group gave this member an assignment (possibly empty: another member owns the partitions)."""
        return self._joined.is_set()

    @property
    def assigned(self) -> list[int]:
        """The partitions this member owns now."""
        return [tp.partition for tp in self._assigned]

    def poll(self, timeout_s: float) -> Message | None:
        """Return the next record, or None (nothing within ``timeout_s``, or paused).

        Raises
        ------
        PipelineError
            When the consumer failed for good (authentication, authorization: not retriable).
        """
        message = self._consumer.poll(timeout_s)
        if message is None:
            return None
        error = message.error()
        if error is None:
            return message
        if error.fatal() or error.code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED):
            raise explain(self.errors.errors, self.principal) or PipelineError("KAFKA_CONSUME_FAILED", f"{self.topic}: {error}", retriable=False)
        return None

    def pause(self) -> None:
        """Stop fetching from the owned partitions (``poll`` still heartbeats)."""
        if self._assigned:
            self._consumer.pause(self._assigned)

    def resume(self) -> None:
        """Fetch again from the owned partitions."""
        if self._assigned:
            self._consumer.resume(self._assigned)

    def commit(self, message: Message) -> None:
        """Commit the offset after ``message`` and wait for the broker's answer."""
        self._consumer.commit(offsets=[TopicPartition(message.topic(), message.partition(), message.offset() + 1)], asynchronous=False)

    def close(self) -> None:
        """Leave the group (its partitions go to the other members at once)."""
        self._consumer.close()
