"""The retrain worker's consumer group on a real broker (the whole worker, two replicas, one run, the
promoted version served over HTTP: test/scorer/http-artifact.test.ts)."""

from __future__ import annotations

import time
import uuid

from pipeline.kafka.group import GroupMember
from pipeline.kafka.settings import kafka_settings
from pipeline.kafka.topics import ensure_topic


def test_a_member_joining_does_not_take_the_partition_of_the_member_handling_it(kafka_stack, unique_topic):
    """The group's assignor is sticky and cooperative: when a replica joins (a rolling update, a scale-up),
    the owner keeps its partition (nothing is revoked), so a request it is handling is never handed to the
    newcomer half-done. With an eager assignor (``range``) this fails: the owner loses the partition."""
    settings = kafka_settings()
    topic = unique_topic("drift-alerts")
    ensure_topic(settings, "driftAlerts", topic)
    group = f"pipeline-sticky-{uuid.uuid4().hex[:8]}"
    owner = GroupMember(settings, topic, group)
    newcomer = None
    try:
        deadline = time.monotonic() + 60
        while not owner.assigned and time.monotonic() < deadline:
            owner.poll(0.2)
        assert owner.assigned == [0]
        owner.pause()  # as while a retrain runs
        newcomer = GroupMember(settings, topic, group)
        while not newcomer.joined and time.monotonic() < deadline:
            owner.poll(0.2)
            newcomer.poll(0.2)
        assert newcomer.joined, "the newcomer never joined"
        for _ in range(10):  # let the rebalance settle on both sides
            owner.poll(0.2)
            newcomer.poll(0.2)
        assert (owner.assigned, owner.revoked, newcomer.assigned) == ([0], 0, [])
    finally:
        owner.close()
        if newcomer is not None:
            newcomer.close()
