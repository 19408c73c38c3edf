"""DescribeQuorum: what kafka-metadata-quorum.sh and the console read, from the engine and from Kafka.

Kafka's quorum is three KRaft voters; the engine's is one (its controller, stood for by the broker
it names controller) with the other brokers as observers. What both must show alike: a leader
among the voters, every live broker a voter or an observer, offsets that never pass the high
watermark, errors for anything but `__cluster_metadata`-0 — and Kafka's own tool reads both.
"""

from __future__ import annotations

import time

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from tests.engine.helpers import admin, raw_request
from tests.support.kafka_cli import run_kafka_tool

METADATA_QUORUM_COMMAND = "org.apache.kafka.tools.MetadataQuorumCommand"


def describe(cluster, bootstrap: list[str] | None = None) -> dict:
    client = KafkaAdminClient(bootstrap_servers=bootstrap or cluster.bootstrap.split(","))
    try:
        return client.describe_metadata_quorum()["topics"][0]["partitions"][0]
    finally:
        client.close()


def test_quorum_has_a_leader_voter_and_every_broker(three_brokers):
    cluster = three_brokers
    q = describe(cluster)
    assert q["error"] is None
    voters = {v["replica_id"]: v for v in q["current_voters"]}
    observers = {o["replica_id"]: o for o in q["observers"]}
    assert q["leader_id"] in voters and q["leader_epoch"] >= 1 and q["high_watermark"] >= 1
    live = set(admin(cluster).list_topics(timeout=10).brokers)
    assert set(voters) | set(observers) == live and not set(voters) & set(observers)
    assert all(-1 <= r["log_end_offset"] <= q["high_watermark"] + 1 for r in [*voters.values(), *observers.values()])

    tool = run_kafka_tool(METADATA_QUORUM_COMMAND, "--bootstrap-server", cluster.bootstrap, "describe", "--status")
    assert tool.returncode == 0, tool.stderr[-2000:]
    assert f"LeaderId:               {q['leader_id']}" in tool.stdout


def test_only_the_metadata_partition_is_described(three_brokers):
    from kio.schema.describe_quorum.v2.request import DescribeQuorumRequest, PartitionData, TopicData

    address = three_brokers.bootstrap.split(",")[0]
    for topic, partitions in (("__consumer_offsets", (0,)), ("__cluster_metadata", (1,)), ("__cluster_metadata", (0, 1))):
        request = DescribeQuorumRequest(topics=(TopicData(topic_name=topic, partitions=tuple(
            PartitionData(partition_index=p) for p in partitions)),))
        response = raw_request(address, 55, 2, request)
        errors = [(p.partition_index, p.error_code.name) for t in response.topics for p in t.partitions]
        assert errors == [(p, "unknown_topic_or_partition") for p in partitions], (topic, partitions, errors)


def test_engine_quorum_follows_a_killed_controller(make_engine):
    cluster = make_engine(brokers=3, racks=["a", "b", "c"])
    before = describe(cluster)
    cluster.kill(before["leader_id"])
    survivors = [b for b in cluster.broker_ids if b != before["leader_id"]]
    deadline = time.monotonic() + 15
    after: dict = {}
    while True:
        try:
            after = describe(cluster, [cluster.address(b) for b in survivors])
        except KafkaError:  # metadata may still name the dead broker for a moment: try again
            pass
        if after and after["leader_id"] not in (-1, before["leader_id"]):
            break
        assert time.monotonic() < deadline, after
        time.sleep(0.1)
    assert after["leader_epoch"] > before["leader_epoch"]
    assert after["high_watermark"] > before["high_watermark"]
    assert {o["replica_id"] for o in after["observers"]} | {after["leader_id"]} == set(survivors)
