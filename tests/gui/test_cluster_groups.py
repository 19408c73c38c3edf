"""Consumer groups as the console's cluster client reads them, on three engine brokers and on
three Apache Kafka 4.1.1 nodes: classic groups, and KIP-848 groups (group.protocol=consumer),
which only ConsumerGroupDescribe describes."""

from __future__ import annotations

import pytest

from partita.gui.domain import health
from partita.gui.services.cluster_client import ClusterClient, KafkaReader
from partita.gui.services.settings import ConnectionSettings

from .conftest import consume_and_commit, create_topic, produce, wait_snapshot


@pytest.mark.parametrize("group_protocol", ["classic", "consumer"])
def test_group_lag_equals_produced_minus_committed(three_brokers, topic_name, group_protocol):
    # "consumer": a KIP-848 group (Kafka 4), which DescribeGroups does not describe ("not a classic group")
    bootstrap = three_brokers.bootstrap
    client = ClusterClient(KafkaReader(ConnectionSettings(bootstrap=bootstrap), timeout=5))
    create_topic(bootstrap, topic_name, partitions=3, rf=3)
    produce(bootstrap, topic_name, 300, partitions=3)
    group_id = f"{topic_name}-grp"
    consumer = consume_and_commit(bootstrap, topic_name, group_id, 300, group_protocol=group_protocol)
    try:
        produce(bootstrap, topic_name, 30, partitions=3)
        s = wait_snapshot(
            client,
            lambda s: group_id in s.groups_by_id
            and s.groups_by_id[group_id].offsets
            and sum(p.end_offset or 0 for p in s.topics_by_name[topic_name].partitions) == 330
            and s.groups_by_id[group_id].members,
        )
        g = s.groups_by_id[group_id]
        committed = sum(o.offset for o in g.offsets)
        assert committed == 300
        assert health.group_lag(s, g) == 330 - 300
        assert g.state == "Stable" and g.protocol_type == "consumer" and g.error is None
        assert g.group_type == group_protocol
        assert g.protocol == ("range" if group_protocol == "classic" else "uniform")  # the assignor
        assert g.members[0].client_id == f"{group_id}-client"
        assert {tp for m in g.members for tp in m.assignment} == {(topic_name, i) for i in range(3)}
        assert g.coordinator in (1, 2, 3)
    finally:
        consumer.close()
        client.close()
