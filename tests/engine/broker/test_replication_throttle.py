"""Which replica fetches a replication throttle slows: Kafka's rule, a rate and a listing."""

from __future__ import annotations

import uuid
from types import MappingProxyType

from partita.engine.broker.replication_throttle import lists, throttle_rate
from partita.engine.cluster.metadata import MetadataImage, PartitionState, TopicState


def image(topic_configs: dict[str, str], broker_configs: dict[int, dict[str, str]], isr=(1,)) -> MetadataImage:
    moving = PartitionState((1, 2), tuple(isr), 1, 0, 0, (2,), ())
    topic = TopicState("t", uuid.uuid4(), (moving,), MappingProxyType(topic_configs))
    return MetadataImage(1, "c", 1, {}, {"t": topic}, broker_configs=broker_configs)


def test_a_listing_names_a_partition_and_broker_or_everything():
    assert lists("0:1,0:2, 1:3", 1, 3) and lists("*", 7, 9)
    assert not lists("0:1,0:2", 0, 3) and not lists("10:2", 0, 2) and not lists("", 0, 1) and not lists(None, 0, 1)


def test_a_rate_throttles_only_the_replicas_the_topic_lists():
    rates = {2: {"follower.replication.throttled.rate": "1000"}, 1: {"leader.replication.throttled.rate": "500"}}
    assert throttle_rate(image({}, rates), "t", 0, 2) is None  # a rate alone: nothing
    assert throttle_rate(image({"follower.replication.throttled.replicas": "0:2"}, rates), "t", 0, 2) == 1000
    # the leader's side counts the leader's rate and listing; the lower rate wins
    both = {"follower.replication.throttled.replicas": "0:2", "leader.replication.throttled.replicas": "0:1"}
    assert throttle_rate(image(both, rates), "t", 0, 2) == 500
    # the cluster-wide default rate (broker "") applies where a broker has none of its own
    assert throttle_rate(image({"follower.replication.throttled.replicas": "*"},
                               {-1: {"follower.replication.throttled.rate": "300"}}), "t", 0, 2) == 300
    # a listing without any rate: nothing
    assert throttle_rate(image(both, {}), "t", 0, 2) is None


def test_a_replica_in_sync_is_never_held_back():
    rates = {2: {"follower.replication.throttled.rate": "1000"}}
    assert throttle_rate(image({"follower.replication.throttled.replicas": "*"}, rates, isr=(1, 2)), "t", 0, 2) is None
