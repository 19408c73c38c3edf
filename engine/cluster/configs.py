"""Topic and broker configuration: Kafka's names, defaults and validation.

A topic config not set on the topic falls back to the broker default named beside it
(`retention.ms` ← `log.retention.ms`), as in Kafka, and DescribeConfigs reports where each
value came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConfigDef:
    name: str
    default: str | None
    kind: str  # "int", "long", "bool", "string", "list", "double", "class", "password"
    broker_key: str | None = None  # the broker-level default that backs a topic config
    choices: tuple[str, ...] = ()
    sensitive: bool = False


def _d(name, default, kind, broker_key=None, choices=()):
    return ConfigDef(name, default, kind, broker_key, tuple(choices))


TOPIC_CONFIGS: dict[str, ConfigDef] = {
    c.name: c
    for c in [
        _d("cleanup.policy", "delete", "list", "log.cleanup.policy", ("delete", "compact")),
        _d("compression.type", "producer", "string", "compression.type",
           ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")),
        _d("compression.gzip.level", "-1", "int", "compression.gzip.level"),
        _d("compression.lz4.level", "9", "int", "compression.lz4.level"),
        _d("compression.zstd.level", "3", "int", "compression.zstd.level"),
        _d("delete.retention.ms", "86400000", "long", "log.cleaner.delete.retention.ms"),
        _d("file.delete.delay.ms", "60000", "long", "log.segment.delete.delay.ms"),
        _d("flush.messages", "9223372036854775807", "long", "log.flush.interval.messages"),
        _d("flush.ms", "9223372036854775807", "long", "log.flush.interval.ms"),
        _d("index.interval.bytes", "4096", "int", "log.index.interval.bytes"),
        _d("max.compaction.lag.ms", "9223372036854775807", "long", "log.cleaner.max.compaction.lag.ms"),
        _d("max.message.bytes", "1048588", "int", "message.max.bytes"),
        _d("message.timestamp.type", "CreateTime", "string", "log.message.timestamp.type",
           ("CreateTime", "LogAppendTime")),
        _d("message.timestamp.before.max.ms", "9223372036854775807", "long", "log.message.timestamp.before.max.ms"),
        _d("message.timestamp.after.max.ms", "3600000", "long", "log.message.timestamp.after.max.ms"),
        _d("min.cleanable.dirty.ratio", "0.5", "double", "log.cleaner.min.cleanable.ratio"),
        _d("min.compaction.lag.ms", "0", "long", "log.cleaner.min.compaction.lag.ms"),
        _d("min.insync.replicas", "1", "int", "min.insync.replicas"),
        _d("preallocate", "false", "bool", "log.preallocate"),
        _d("retention.bytes", "-1", "long", "log.retention.bytes"),
        _d("retention.ms", "604800000", "long", "log.retention.ms"),
        _d("segment.bytes", "1073741824", "int", "log.segment.bytes"),
        _d("segment.index.bytes", "10485760", "int", "log.index.size.max.bytes"),
        _d("segment.jitter.ms", "0", "long", "log.roll.jitter.ms"),
        _d("segment.ms", "604800000", "long", "log.roll.ms"),
        _d("unclean.leader.election.enable", "false", "bool", "unclean.leader.election.enable"),
        _d("leader.replication.throttled.replicas", "", "list"),
        _d("follower.replication.throttled.replicas", "", "list"),
        # tiered storage: listed as Kafka lists them; a broker without it refuses remote.storage.enable
        _d("remote.storage.enable", "false", "bool"),
        _d("local.retention.ms", "-2", "long", "log.local.retention.ms"),
        _d("local.retention.bytes", "-2", "long", "log.local.retention.bytes"),
        _d("remote.log.copy.disable", "false", "bool"),
        _d("remote.log.delete.on.disable", "false", "bool"),
    ]
}

BROKER_CONFIGS: dict[str, ConfigDef] = {
    c.name: c
    for c in [
        _d("auto.create.topics.enable", "true", "bool"),
        _d("num.partitions", "1", "int"),
        _d("default.replication.factor", "1", "int"),
        _d("min.insync.replicas", "1", "int"),
        _d("message.max.bytes", "1048588", "int"),
        _d("socket.request.max.bytes", "104857600", "int"),
        _d("replica.lag.time.max.ms", "30000", "long"),
        _d("replica.fetch.max.bytes", "1048576", "int"),
        _d("max.incremental.fetch.session.cache.slots", "1000", "int"),
        _d("unclean.leader.election.enable", "false", "bool"),
        # Kafka's precedence for the broker default of retention.ms: .ms, then .minutes, then .hours
        _d("log.retention.ms", None, "long"),
        _d("log.retention.minutes", None, "int"),
        _d("log.retention.hours", "168", "int"),
        _d("log.retention.bytes", "-1", "long"),
        _d("log.segment.bytes", "1073741824", "int"),
        _d("log.roll.ms", None, "long"),
        _d("log.roll.hours", "168", "int"),
        _d("log.local.retention.ms", "-2", "long"),
        _d("log.local.retention.bytes", "-2", "long"),
        _d("log.retention.check.interval.ms", "300000", "long"),
        _d("log.cleanup.policy", "delete", "list"),
        _d("log.message.timestamp.type", "CreateTime", "string"),
        _d("log.index.interval.bytes", "4096", "int"),
        _d("log.cleaner.enable", "true", "bool"),
        _d("log.cleaner.backoff.ms", "15000", "long"),
        _d("log.cleaner.dedupe.buffer.size", "134217728", "long"),
        _d("log.cleaner.min.cleanable.ratio", "0.5", "double"),
        _d("log.cleaner.min.compaction.lag.ms", "0", "long"),
        _d("log.cleaner.max.compaction.lag.ms", "9223372036854775807", "long"),
        _d("log.cleaner.delete.retention.ms", "86400000", "long"),
        _d("log.cleaner.io.max.bytes.per.second", "1.7976931348623157E308", "double"),
        _d("max.connections", "2147483647", "int"),
        _d("max.connections.per.ip", "2147483647", "int"),
        # sizes of Kafka's JVM thread pools, which the engine (one event loop per broker, one
        # cleaner and one fetcher task per leader) does not have: accepted and listed, so that
        # operators' scripts work, with no effect
        _d("log.cleaner.threads", "1", "int"),
        _d("num.io.threads", "8", "int"),
        _d("num.network.threads", "3", "int"),
        _d("num.replica.fetchers", "1", "int"),
        _d("background.threads", "10", "int"),
        _d("num.recovery.threads.per.data.dir", "2", "int"),
        _d("compression.type", "producer", "string"),
        _d("compression.gzip.level", "-1", "int"),
        _d("compression.lz4.level", "9", "int"),
        _d("compression.zstd.level", "3", "int"),
        _d("offsets.topic.num.partitions", "50", "int"),
        _d("offsets.topic.replication.factor", "3", "int"),
        _d("offsets.retention.minutes", "10080", "int"),
        _d("transaction.state.log.num.partitions", "50", "int"),
        _d("transaction.state.log.replication.factor", "3", "int"),
        _d("transaction.state.log.min.isr", "2", "int"),
        _d("transaction.state.log.segment.bytes", "104857600", "int"),
        _d("producer.id.expiration.ms", "86400000", "int"),
        _d("transaction.partition.verification.enable", "true", "bool"),
        _d("transaction.max.timeout.ms", "900000", "int"),
        _d("transaction.abort.timed.out.transaction.cleanup.interval.ms", "10000", "int"),
        _d("transactional.id.expiration.ms", "604800000", "int"),
        _d("transaction.remove.expired.transaction.cleanup.interval.ms", "3600000", "int"),
        _d("group.initial.rebalance.delay.ms", "3000", "int"),
        _d("group.min.session.timeout.ms", "6000", "int"),
        _d("group.max.session.timeout.ms", "1800000", "int"),
        _d("group.max.size", "2147483647", "int"),
        _d("group.consumer.heartbeat.interval.ms", "5000", "int"),
        _d("group.consumer.min.heartbeat.interval.ms", "5000", "int"),
        _d("group.consumer.max.heartbeat.interval.ms", "15000", "int"),
        _d("group.consumer.session.timeout.ms", "45000", "int"),
        _d("group.consumer.min.session.timeout.ms", "45000", "int"),
        _d("group.consumer.max.session.timeout.ms", "60000", "int"),
        _d("group.consumer.max.size", "2147483647", "int"),
        _d("group.consumer.assignors", "uniform,range", "list"),
        _d("auto.leader.rebalance.enable", "true", "bool"),
        _d("leader.imbalance.check.interval.seconds", "300", "long"),
        _d("leader.replication.throttled.rate", "9223372036854775807", "long"),
        _d("follower.replication.throttled.rate", "9223372036854775807", "long"),
        _d("replica.alter.log.dirs.io.max.bytes.per.second", "9223372036854775807", "long"),
    ]
}

# Kafka's replication quotas are dynamic-only broker configs (not in KafkaConfig's definitions):
# DescribeConfigs lists them only while they are set, dynamically.
LISTED_ONLY_WHEN_SET = frozenset(
    {
        "leader.replication.throttled.rate",
        "follower.replication.throttled.rate",
        "replica.alter.log.dirs.io.max.bytes.per.second",
    }
)

# Broker settings that may change at runtime through IncrementalAlterConfigs.
DYNAMIC_BROKER_CONFIGS = frozenset(
    {
        "leader.replication.throttled.rate",
        "follower.replication.throttled.rate",
        "replica.alter.log.dirs.io.max.bytes.per.second",
        "log.retention.ms",
        "log.retention.bytes",
        "log.segment.bytes",
        "log.roll.ms",
        "message.max.bytes",
        "min.insync.replicas",
        "unclean.leader.election.enable",
        "compression.type",
        "compression.gzip.level",
        "compression.lz4.level",
        "compression.zstd.level",
        "log.cleanup.policy",
        "log.message.timestamp.type",
        "log.index.interval.bytes",
        "producer.id.expiration.ms",  # Kafka's DynamicProducerStateManagerConfig
        "transaction.partition.verification.enable",
        # Kafka's LogCleaner.RECONFIGURABLE_CONFIGS (those the engine uses) and the cleaner's
        # topic-config defaults (DynamicLogConfig).
        "log.cleaner.backoff.ms",
        "log.cleaner.dedupe.buffer.size",
        "log.cleaner.min.cleanable.ratio",
        "log.cleaner.min.compaction.lag.ms",
        "log.cleaner.max.compaction.lag.ms",
        "log.cleaner.delete.retention.ms",
        "log.cleaner.io.max.bytes.per.second",
        "log.cleaner.threads",
        # DynamicThreadPool, DynamicConnectionQuota and DynamicReplicationConfig in Kafka
        "max.connections",
        "max.connections.per.ip",
        "num.io.threads",
        "num.network.threads",
        "num.replica.fetchers",
        "background.threads",
        "num.recovery.threads.per.data.dir",
    }
)

# Broker settings the engine reports per broker (not in BROKER_CONFIGS): never changed at runtime.
PER_BROKER_STATIC_CONFIGS = frozenset({"broker.id", "node.id", "broker.rack", "log.dirs"})

_LEGAL_TOPIC = re.compile(r"^[a-zA-Z0-9._-]+$")
MAX_TOPIC_NAME = 249


def topic_name_problem(name: str) -> str | None:
    """Why `name` is not a legal Kafka topic name, or None; in Kafka 4's words (Topic.validate)."""
    if not name:
        reason = "the empty string is not allowed"
    elif name in (".", ".."):
        reason = f"'{name}' is not allowed"
    elif len(name) > MAX_TOPIC_NAME:
        reason = f"the length of '{name}' is longer than the max allowed length {MAX_TOPIC_NAME}"
    elif not _LEGAL_TOPIC.fullmatch(name):  # match() would let a trailing newline through ($)
        reason = f"'{name}' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"
    else:
        return None
    return f"Topic name is invalid: {reason}"


def config_value_problem(definition: ConfigDef, value: str | None) -> str | None:
    """Why `value` is not valid for `definition`, or None."""
    if value is None:
        return None
    try:
        if definition.kind in ("int", "long"):
            int(value)
        elif definition.kind == "double":
            float(value)
        elif definition.kind == "bool" and value.lower() not in ("true", "false"):
            return f"Invalid value {value} for configuration {definition.name}: Expected value to be either true or false"
    except ValueError:
        return f"Invalid value {value} for configuration {definition.name}: Not a number of type {definition.kind.upper()}"
    if definition.choices:
        items = value.split(",") if definition.kind == "list" else [value]
        for item in items:
            if item.strip() not in definition.choices:
                return f"Invalid value {value} for configuration {definition.name}: String must be one of: {', '.join(definition.choices)}"
    if definition.name == "min.insync.replicas" and int(value) < 1:
        return f"Invalid value {value} for configuration min.insync.replicas: Value must be at least 1"
    if definition.name == "compression.gzip.level" and not (1 <= int(value) <= 9 or int(value) == -1):
        return f"Invalid value {value} for configuration {definition.name}: Value must be between 1 and 9, or -1"
    if definition.name in _RANGES:
        low, high = _RANGES[definition.name]
        if int(value) < low:
            return f"Invalid value {value} for configuration {definition.name}: Value must be at least {low}"
        if high is not None and int(value) > high:
            return f"Invalid value {value} for configuration {definition.name}: Value must be no more than {high}"
    if definition.name == "remote.storage.enable" and value.lower() == "true":
        return ("Tiered Storage functionality is disabled in the broker. "
                "Topic cannot be configured with remote log storage.")
    return None


# Kafka's ranges for configs whose value must lie in one (KIP-390's levels; gzip's, 1..9 or -1,
# is not one range)
_RANGES: dict[str, tuple[int, int | None]] = {
    "log.cleaner.threads": (0, None),
    "producer.id.expiration.ms": (1, None),
    "num.io.threads": (1, None),
    "num.network.threads": (1, None),
    "num.replica.fetchers": (1, None),
    "background.threads": (1, None),
    "num.recovery.threads.per.data.dir": (1, None),
    "max.connections": (0, None),
    "max.connections.per.ip": (0, None),
    "compression.lz4.level": (1, 17),
    "compression.zstd.level": (-131072, 22),
    "local.retention.ms": (-2, None),
    "local.retention.bytes": (-2, None),
    "log.local.retention.ms": (-2, None),
    "log.local.retention.bytes": (-2, None),
}

# Broker settings that give a topic config's broker default when its own broker key is not set,
# with the factor to milliseconds, in Kafka's order of precedence.
_COARSER_BROKER_KEYS: dict[str, tuple[tuple[str, int], ...]] = {
    "log.retention.ms": (("log.retention.minutes", 60_000), ("log.retention.hours", 3_600_000)),
    "log.roll.ms": (("log.roll.hours", 3_600_000),),
}


def broker_keys_of(broker_key: str) -> tuple[str, ...]:
    """A topic config's broker key and the coarser settings that stand in for it, in precedence order."""
    return (broker_key, *(name for name, _factor in _COARSER_BROKER_KEYS.get(broker_key, ())))


def broker_default(broker_key: str, broker_configs) -> str | None:
    """The broker-level value behind a topic config (log.retention.hours=1 gives 3600000 for
    log.retention.ms), or None when no setting gives one."""
    if broker_key in broker_configs:
        return broker_configs[broker_key]
    for name, factor in _COARSER_BROKER_KEYS.get(broker_key, ()):
        if name in broker_configs:
            return str(int(broker_configs[name]) * factor)
    return None


def effective_topic_config(name: str, topic_configs, broker_configs) -> tuple[str | None, str]:
    """(value, source) where source is 'topic', 'broker' or 'default'."""
    if name in topic_configs:
        return topic_configs[name], "topic"
    definition = TOPIC_CONFIGS[name]
    if definition.broker_key:
        value = broker_default(definition.broker_key, broker_configs)
        if value is not None:
            return value, "broker"
    return definition.default, "default"
