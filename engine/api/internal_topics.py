"""The coordinators' internal topics, created on first use as Kafka creates them.

A group's coordinator is the leader of its `__consumer_offsets` partition, a transactional
id's the leader of its `__transaction_state` partition (partition = Kafka's
`Utils.abs(javaHash(key)) % partitions`, engine/groups/hashing.py). The first
FindCoordinator for a key type creates its topic through the controller with Kafka's
topic configs and broker settings for partitions and replication factor, and waits for
leaders. Unlike Kafka, the replication factor is capped at the live brokers (and
min.insync.replicas at the replication factor), so a one-broker cluster still gets its
coordinators where Kafka would fail to create the topic.
"""

from __future__ import annotations

from dataclasses import dataclass

from partita.engine.api.common import controller_call, wait_for_topics
from partita.engine.cluster.configs import BROKER_CONFIGS
from partita.engine.groups.hashing import OFFSETS_TOPIC, partition_for
from partita.engine.protocol.errors import ErrorCode, KafkaError
from partita.engine.transactions.records import TRANSACTION_STATE_TOPIC


@dataclass(frozen=True, slots=True)
class InternalTopic:
    name: str
    partitions_setting: str
    replication_setting: str
    fixed_configs: tuple[tuple[str, str], ...]
    configs_from_settings: tuple[tuple[str, str], ...] = ()  # (topic config, broker setting)

    def configs(self, broker) -> dict[str, str]:
        configs = dict(self.fixed_configs)
        for config, setting in self.configs_from_settings:
            configs[config] = _setting(broker, setting)
        return configs


OFFSETS = InternalTopic(
    OFFSETS_TOPIC, "offsets.topic.num.partitions", "offsets.topic.replication.factor",
    (("cleanup.policy", "compact"), ("compression.type", "producer"), ("segment.bytes", "104857600")),
)
# Kafka's TransactionLog topic configs: compacted, uncompressed, no unclean election.
TRANSACTION_STATE = InternalTopic(
    TRANSACTION_STATE_TOPIC, "transaction.state.log.num.partitions", "transaction.state.log.replication.factor",
    (("cleanup.policy", "compact"), ("compression.type", "uncompressed"), ("unclean.leader.election.enable", "false")),
    (("min.insync.replicas", "transaction.state.log.min.isr"),
     ("segment.bytes", "transaction.state.log.segment.bytes")),
)


def _setting(broker, name: str) -> str:
    return broker.setting(name, BROKER_CONFIGS[name].default)


async def ensure_internal_topic(ctx, topic: InternalTopic) -> str | None:
    """Create `topic` when it does not exist; a message when that failed."""
    broker = ctx.broker
    if topic.name in broker.metadata.topics:
        return None
    partitions = int(_setting(broker, topic.partitions_setting))
    live = max(1, len(broker.metadata.live_brokers()))
    rf = max(1, min(int(_setting(broker, topic.replication_setting)), live))
    configs = topic.configs(broker)
    if int(configs.get("min.insync.replicas", "1")) > rf:  # the capped replication factor caps it too
        configs["min.insync.replicas"] = str(rf)
    try:
        results = await controller_call(ctx, "CreateTopics", topics=[{
            "name": topic.name, "num_partitions": partitions, "replication_factor": rf, "configs": configs,
        }])
    except KafkaError as exc:
        return f"cannot create {topic.name}: {exc}"
    for r in results:
        if r["error_code"] not in (ErrorCode.none, ErrorCode.topic_already_exists):
            return f"cannot create {topic.name}: {r.get('error_message')}"
    await wait_for_topics(ctx, [topic.name])
    return None


def coordinator_partition(image, topic: InternalTopic, key: str):
    """(index, PartitionState) of the partition coordinating `key`, or None before the topic exists."""
    state = image.topics.get(topic.name)
    if state is None or not state.partitions:
        return None
    index = partition_for(key, len(state.partitions))
    return index, state.partitions[index]
