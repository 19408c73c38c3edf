"""The AdminClient's topic, partition, config, offset and record operations: the engine and real Kafka agree."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from confluent_kafka import Consumer, KafkaException, TopicCollection, TopicPartition
from confluent_kafka.admin import ConfigResource, NewPartitions, NewTopic, OffsetSpec

from tests.engine.helpers import admin, create_topic, produce, wait_for_leaders


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_create_describe_delete_topic(single_broker):
    a = admin(single_broker)
    topic = name("adm")
    create_topic(single_broker, topic, partitions=4, config={"retention.ms": "123456"})
    described = a.describe_topics(TopicCollection([topic]))[topic].result(10)
    assert len(described.partitions) == 4
    assert all(p.leader.id == 1 for p in described.partitions)
    a.delete_topics([topic], operation_timeout=10)[topic].result(10)
    deadline = time.monotonic() + 10
    while topic in a.list_topics(timeout=5).topics:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_create_existing_and_invalid_topics_fail_clearly(single_broker):
    a = admin(single_broker)
    topic = name("dup")
    create_topic(single_broker, topic)
    with pytest.raises(KafkaException) as err:
        a.create_topics([NewTopic(topic, 1, 1)])[topic].result(10)
    assert err.value.args[0].name() == "TOPIC_ALREADY_EXISTS"
    for bad in ("bad name", "x" * 250, "..", "ümlaut"):
        with pytest.raises(KafkaException) as err:
            a.create_topics([NewTopic(bad, 1, 1)])[bad].result(10)
        assert err.value.args[0].code() == 17, bad  # INVALID_TOPIC_EXCEPTION (librdkafka: TOPIC_EXCEPTION)
    rf_topic = name("rf")
    with pytest.raises(KafkaException) as err:
        a.create_topics([NewTopic(rf_topic, 1, 3)])[rf_topic].result(10)
    assert err.value.args[0].name() == "INVALID_REPLICATION_FACTOR"


def test_create_partitions_grows_topic(single_broker):
    a = admin(single_broker)
    topic = name("grow")
    create_topic(single_broker, topic, partitions=1)
    a.create_partitions([NewPartitions(topic, 3)])[topic].result(10)
    # Kafka answers once its controller has committed the change; the broker's metadata follows
    # a moment later, so the new partitions are waited for, not expected at once.
    wait_for_leaders(single_broker, topic, 3, timeout=10)
    with pytest.raises(KafkaException) as err:
        a.create_partitions([NewPartitions(topic, 2)])[topic].result(10)
    assert err.value.args[0].name() == "INVALID_PARTITIONS"


def test_describe_and_alter_topic_configs(single_broker):
    a = admin(single_broker)
    topic = name("cfg")
    create_topic(single_broker, topic, config={"retention.ms": "60000"})
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    configs = a.describe_configs([res])[res].result(10)
    assert configs["retention.ms"].value == "60000"
    assert configs["retention.ms"].source == 1  # DYNAMIC_TOPIC_CONFIG
    assert configs["cleanup.policy"].value == "delete"
    assert configs["min.insync.replicas"].value == "1"
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry

    change = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", "120000", incremental_operation=AlterConfigOpType.SET)])
    a.incremental_alter_configs([change])[change].result(10)
    assert a.describe_configs([res])[res].result(10)["retention.ms"].value == "120000"
    bad = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", "soon", incremental_operation=AlterConfigOpType.SET)])
    with pytest.raises(KafkaException) as err:
        a.incremental_alter_configs([bad])[bad].result(10)
    assert err.value.args[0].name() == "INVALID_CONFIG"


def test_describe_broker_configs_and_cluster(single_broker):
    a = admin(single_broker)
    res = ConfigResource(ConfigResource.Type.BROKER, "1")
    configs = a.describe_configs([res])[res].result(10)
    assert configs["auto.create.topics.enable"].value == "true"
    # where the broker listens, as operators look it up (kafka-configs --describe --all)
    assert configs["advertised.listeners"].value == f"PLAINTEXT://{single_broker.address(1)}"
    assert configs["listeners"].value.startswith(f"PLAINTEXT://{single_broker.address(1)}")
    assert configs["inter.broker.listener.name"].value == "PLAINTEXT"
    cluster = a.describe_cluster().result(10)
    assert [n.id for n in cluster.nodes] == [1]
    assert cluster.controller.id == 1
    assert cluster.cluster_id


def test_list_offsets_earliest_latest_and_by_timestamp(single_broker):
    a = admin(single_broker)
    topic = name("offsets")
    create_topic(single_broker, topic)
    for i, ts in enumerate((1_000_000, 2_000_000, 3_000_000)):
        produce(single_broker, topic, [f"m{i}".encode()] * 5, timestamp=ts)
    tp = TopicPartition(topic, 0)

    def offset(spec):
        return a.list_offsets({tp: spec})[tp].result(10).offset

    assert offset(OffsetSpec.earliest()) == 0
    assert offset(OffsetSpec.latest()) == 15
    assert offset(OffsetSpec.for_timestamp(1_500_000)) == 5
    assert offset(OffsetSpec.for_timestamp(3_000_000)) == 10
    assert offset(OffsetSpec.for_timestamp(4_000_000)) == -1
    assert offset(OffsetSpec.max_timestamp()) == 10


def test_delete_records_moves_log_start(single_broker):
    a = admin(single_broker)
    topic = name("delrec")
    create_topic(single_broker, topic)
    produce(single_broker, topic, [b"x"] * 20)
    tp = TopicPartition(topic, 0, 7)
    result = a.delete_records([tp])[tp].result(10)
    assert result.low_watermark == 7
    earliest = a.list_offsets({TopicPartition(topic, 0): OffsetSpec.earliest()})
    assert list(earliest.values())[0].result(10).offset == 7
    with pytest.raises(KafkaException) as err:
        beyond = TopicPartition(topic, 0, 100)
        a.delete_records([beyond])[beyond].result(10)
    assert err.value.args[0].name() == "OFFSET_OUT_OF_RANGE"


@pytest.mark.kafka
def test_the_configs_the_engine_lists_are_configs_kafka_lists(engine, apache_kafka):
    """DescribeConfigs names no broker or topic config that Kafka 4 does not have (Kafka lists
    many more: the engine lists those it honours)."""

    def names(cluster, kind, resource):
        a = admin(cluster)
        res = ConfigResource(kind, resource)
        return set(a.describe_configs([res])[res].result(10))

    topic = name("cfgnames")
    for cluster in (engine, apache_kafka):
        create_topic(cluster, topic)
    assert names(engine, "BROKER", "1") - names(apache_kafka, "BROKER", "1") == set()
    assert names(engine, "TOPIC", topic) - names(apache_kafka, "TOPIC", topic) == set()


def test_legacy_alter_configs_replaces_a_topics_dynamic_configs(single_broker):
    """AlterConfigs (33), which older tools still send: what the request leaves out goes back to
    its default, and a bad name changes nothing (engine and Kafka alike)."""
    from kio.schema.alter_configs.v2.request import AlterableConfig, AlterConfigsRequest, AlterConfigsResource
    from kio.static.primitive import i8

    from tests.engine.helpers import raw_request

    topic = name("legacy")
    create_topic(single_broker, topic, config={"retention.ms": "60000", "segment.ms": "7200000"})

    def alter(**configs):
        request = AlterConfigsRequest(validate_only=False, resources=(AlterConfigsResource(
            resource_type=i8(2), resource_name=topic,
            configs=tuple(AlterableConfig(name=k.replace("_", "."), value=v) for k, v in configs.items())),))
        [result] = raw_request(single_broker.bootstrap, 33, 2, request).responses
        return int(result.error_code)

    def current():
        res = ConfigResource(ConfigResource.Type.TOPIC, topic)
        a = admin(single_broker)  # must outlive the future
        described = a.describe_configs([res])[res].result(10)
        return {k: (described[k].value, described[k].source) for k in ("retention.ms", "segment.ms")}

    assert alter(segment_ms="3600000") == 0
    expected = {"retention.ms": ("604800000", 5), "segment.ms": ("3600000", 1)}  # 5: default, 1: topic
    deadline = time.monotonic() + 10
    while current() != expected:
        assert time.monotonic() < deadline, current()
        time.sleep(0.1)
    assert alter(no_such_config="1", retention_ms="1000") == 40  # INVALID_CONFIG
    assert current() == expected


def test_retention_defaults_read_only_flags_and_tiered_storage_configs_as_in_kafka(single_broker):
    """The broker's retention and roll defaults are given in hours (the .ms settings unset), a
    setting that cannot change at runtime is read-only and refused, and a topic lists the
    tiered-storage configs, refusing remote.storage.enable on a broker without it."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry

    a = admin(single_broker)
    broker = ConfigResource("BROKER", "1")
    got = a.describe_configs([broker])[broker].result(10)
    values = {k: got[k].value for k in ("log.retention.ms", "log.retention.minutes", "log.retention.hours",
                                        "log.roll.ms", "log.roll.hours")}
    assert values == {"log.retention.ms": None, "log.retention.minutes": None, "log.retention.hours": "168",
                      "log.roll.ms": None, "log.roll.hours": "168"}
    assert got["num.partitions"].is_read_only and not got["log.retention.ms"].is_read_only
    change = ConfigResource("BROKER", "1", incremental_configs=[
        ConfigEntry("num.partitions", "3", incremental_operation=AlterConfigOpType.SET)])
    with pytest.raises(KafkaException) as refused:
        a.incremental_alter_configs([change])[change].result(10)
    assert refused.value.args[0].name() == "INVALID_REQUEST"

    topic = name("tiered")
    create_topic(single_broker, topic, config={"local.retention.ms": "1000"})
    resource = ConfigResource("TOPIC", topic)
    got = a.describe_configs([resource])[resource].result(10)
    assert {k: (got[k].value, got[k].source) for k in (
        "remote.storage.enable", "local.retention.ms", "local.retention.bytes", "remote.log.copy.disable",
        "remote.log.delete.on.disable", "retention.ms")} == {
        "remote.storage.enable": ("false", 5), "local.retention.ms": ("1000", 1), "local.retention.bytes": ("-2", 5),
        "remote.log.copy.disable": ("false", 5), "remote.log.delete.on.disable": ("false", 5),
        "retention.ms": ("604800000", 5)}
    for config in ({"remote.storage.enable": "true"}, {"local.retention.bytes": "-3"}):
        with pytest.raises(KafkaException) as refused:
            create_topic(single_broker, name("tiered-bad"), config=config)
        assert refused.value.args[0].name() == "INVALID_CONFIG", config
    enable = ConfigResource("TOPIC", topic, incremental_configs=[
        ConfigEntry("remote.storage.enable", "true", incremental_operation=AlterConfigOpType.SET)])
    with pytest.raises(KafkaException) as refused:
        a.incremental_alter_configs([enable])[enable].result(10)
    assert "Tiered Storage functionality is disabled" in refused.value.args[0].str()


def test_a_brokers_retention_hours_setting_is_its_topics_retention(make_engine):
    """log.retention.hours (the setting Kafka's sample server.properties uses) backs retention.ms."""
    cluster = make_engine(brokers=1, settings={"log.retention.hours": "2", "log.roll.hours": "1"})
    topic = name("hours")
    create_topic(cluster, topic)
    a = admin(cluster)
    resource = ConfigResource("TOPIC", topic)
    got = a.describe_configs([resource])[resource].result(10)
    assert (got["retention.ms"].value, got["retention.ms"].source) == ("7200000", 4)  # static broker config
    assert got["segment.ms"].value == "3600000"


def test_a_waiting_fetch_on_a_topic_deleted_meanwhile_answers_unknown_topic(single_broker):
    """A consumer's long-poll fetch, woken by the topic's deletion, is told the partition is gone
    (Kafka: UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER_OR_FOLLOWER), not a storage error."""
    import threading
    from datetime import timedelta

    from kio.schema.fetch.v12 import request as fetch_req

    from tests.engine.helpers import raw_request

    topic = name("deleted-while-fetching")
    create_topic(single_broker, topic)
    produce(single_broker, topic, [b"one"])
    request = fetch_req.FetchRequest(
        cluster_id=None, replica_id=-1, max_wait=timedelta(seconds=20), min_bytes=1, max_bytes=1 << 20,
        isolation_level=0, session_id=0, session_epoch=-1, forgotten_topics_data=(), rack_id="",
        topics=(fetch_req.FetchTopic(topic=topic, partitions=(fetch_req.FetchPartition(
            partition=0, fetch_offset=1, partition_max_bytes=1 << 20),)),))
    answers = []
    fetching = threading.Thread(target=lambda: answers.append(raw_request(single_broker.bootstrap, 1, 12, request)))
    started = time.monotonic()
    fetching.start()
    time.sleep(0.5)  # the fetch is waiting for a record at offset 1
    a = admin(single_broker)
    a.delete_topics([topic])[topic].result(10)
    fetching.join(30)
    [t] = answers[0].responses
    assert int(t.partitions[0].error_code) in (3, 6)  # UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER
    assert time.monotonic() - started < 15  # woken by the deletion, not by max_wait


def test_list_offsets_v10_earliest_local_and_latest_tiered(single_broker):
    """ListOffsets v10 (what kafka-get-offsets --time -4/-5 sends): without tiered storage the
    earliest local offset is the log start offset and the latest tiered one is -1."""
    from datetime import timedelta

    from kio.schema.list_offsets.v10 import request as lo_req
    from kio.static.primitive import i8

    from tests.engine.helpers import raw_request

    topic = name("tiered-offsets")
    create_topic(single_broker, topic)
    produce(single_broker, topic, [b"x"] * 15)
    a = admin(single_broker)
    cut = TopicPartition(topic, 0, 7)
    a.delete_records([cut])[cut].result(10)

    def ask(timestamp: int) -> tuple[int, int]:
        request = lo_req.ListOffsetsRequest(replica_id=-1, isolation_level=i8(0), timeout=timedelta(seconds=1), topics=(
            lo_req.ListOffsetsTopic(name=topic, partitions=(
                lo_req.ListOffsetsPartition(partition_index=0, current_leader_epoch=-1, timestamp=timestamp),)),))
        [t] = raw_request(single_broker.bootstrap, 2, 10, request).topics
        [p] = t.partitions
        return int(p.error_code), p.offset

    assert ask(-2) == (0, 7)
    assert ask(-4) == (0, 7)
    assert ask(-5) == (0, -1)
    assert ask(-1) == (0, 15)


def test_operators_dynamic_broker_settings_are_accepted_and_static_ones_refused(single_broker):
    """kafka-configs --entity-type brokers with the settings operators change at runtime (thread
    pools, connection limits, the cleaner's throttle) works; broker.id cannot change (engine and
    Kafka alike)."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry

    a = admin(single_broker)
    settings = {"num.io.threads": "8", "log.cleaner.threads": "1", "max.connections.per.ip": "1000",
                "log.cleaner.io.max.bytes.per.second": "1.0E8"}

    def alter(op, entries):
        resource = ConfigResource("BROKER", "1", incremental_configs=[
            ConfigEntry(k, v, incremental_operation=op) for k, v in entries.items()])
        return a.incremental_alter_configs([resource])[resource].result(10)

    alter(AlterConfigOpType.SET, settings)
    try:
        broker = ConfigResource("BROKER", "1")
        deadline = time.monotonic() + 10
        while True:
            got = a.describe_configs([broker])[broker].result(10)
            current = {k: (float(got[k].value), got[k].source) for k in settings}
            if current == {k: (float(v), 2) for k, v in settings.items()} or time.monotonic() > deadline:
                break  # 2: DYNAMIC_BROKER_CONFIG (Kafka shows the source a moment before the value)
            time.sleep(0.2)
        assert current == {k: (float(v), 2) for k, v in settings.items()}
    finally:
        alter(AlterConfigOpType.DELETE, dict.fromkeys(settings, None))
    with pytest.raises(KafkaException) as refused:
        alter(AlterConfigOpType.SET, {"broker.id": "5"})
    assert refused.value.args[0].name() == "INVALID_REQUEST"


def test_a_broker_keeps_settings_it_does_not_know_hidden_and_refuses_bad_values_as_requests(single_broker):
    """As Kafka: a broker takes a setting whose name it does not know (a plugin's) and lists it
    read-only and sensitive, without its value; a bad value for a broker setting is INVALID_REQUEST
    (for a topic config, INVALID_CONFIG)."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry

    a = admin(single_broker)
    broker_id = str(single_broker.broker_ids[0])
    custom = "partita.tests.plugin.setting"

    def alter(resource_type, name, op, entries):
        resource = ConfigResource(resource_type, name, incremental_configs=[
            ConfigEntry(k, v, incremental_operation=op) for k, v in entries.items()])
        try:
            a.incremental_alter_configs([resource])[resource].result(10)
            return None
        except KafkaException as exc:
            return exc.args[0].name()

    def listed():
        broker = ConfigResource("BROKER", broker_id)
        got = a.describe_configs([broker])[broker].result(10)
        e = got.get(custom)
        return None if e is None else (e.value, e.is_read_only, e.is_sensitive, e.source)

    assert alter("BROKER", broker_id, AlterConfigOpType.SET, {custom: "42"}) is None
    try:
        deadline = time.monotonic() + 10
        while listed() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert listed() == (None, True, True, 2)  # 2: DYNAMIC_BROKER_CONFIG
    finally:
        assert alter("BROKER", broker_id, AlterConfigOpType.DELETE, {custom: None}) is None
    deadline = time.monotonic() + 10
    while listed() is not None:
        assert time.monotonic() < deadline, listed()
        time.sleep(0.2)

    assert alter("BROKER", broker_id, AlterConfigOpType.SET, {"log.retention.ms": "abc"}) == "INVALID_REQUEST"
    assert alter("BROKER", broker_id, AlterConfigOpType.SET, {"log.cleaner.threads": "-5"}) == "INVALID_REQUEST"
    topic = name("bad-value")
    create_topic(single_broker, topic)
    assert alter("TOPIC", topic, AlterConfigOpType.SET, {"retention.ms": "abc"}) == "INVALID_CONFIG"


def _describe_loggers(cluster, node_id: int):
    from kio.schema.describe_configs.v4 import request as dc
    from kio.static.primitive import i8

    from tests.engine.helpers import raw_request

    request = dc.DescribeConfigsRequest(resources=(dc.DescribeConfigsResource(
        resource_type=i8(8), resource_name=str(node_id), configuration_keys=None),))
    [result] = raw_request(cluster.address(node_id), 32, 4, request).results
    return int(result.error_code), {c.name: (c.value, int(c.config_source)) for c in result.configs}


def _alter_loggers(cluster, node_id: int, *ops: tuple[str, int, str | None]) -> tuple[int, str | None]:
    from kio.schema.incremental_alter_configs.v1 import request as iac
    from kio.static.primitive import i8

    from tests.engine.helpers import raw_request

    request = iac.IncrementalAlterConfigsRequest(validate_only=False, resources=(iac.AlterConfigsResource(
        resource_type=i8(8), resource_name=str(node_id),
        configs=tuple(iac.AlterableConfig(name=n, config_operation=i8(op), value=v) for n, op, v in ops)),))
    [result] = raw_request(cluster.address(node_id), 44, 1, request).responses
    return int(result.error_code), result.error_message


def test_broker_loggers_are_listed_and_refuse_bad_changes_as_kafkas_do(single_broker):
    """kafka-configs --entity-type broker-loggers: the broker lists its loggers with their levels;
    an unknown logger, an unknown level, deleting root's level and APPEND are refused alike."""
    node = single_broker.broker_ids[0]
    error, loggers = _describe_loggers(single_broker, node)
    assert error == 0 and loggers["root"][0] in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
    assert loggers["root"][1] == 6  # DYNAMIC_BROKER_LOGGER_CONFIG
    assert _alter_loggers(single_broker, node, ("no.such.logger.anywhere", 0, "INFO"))[0] == 40  # INVALID_CONFIG
    assert _alter_loggers(single_broker, node, ("root", 0, "LOUD"))[0] == 40
    assert _alter_loggers(single_broker, node, ("root", 1, None))[0] == 42  # INVALID_REQUEST
    assert _alter_loggers(single_broker, node, ("root", 2, "INFO")) == (
        42, "APPEND operation is not allowed for the BROKER_LOGGER resource")


def test_a_broker_logger_level_changes_at_runtime(engine):
    """DEBUG on one engine logger, then DELETE: it inherits root's level again."""
    name_ = "partita.engine.broker.connection"
    error, loggers = _describe_loggers(engine, 1)
    root_level = loggers["root"][0]
    assert error == 0 and loggers[name_][0] == root_level
    assert _alter_loggers(engine, 1, (name_, 0, "DEBUG")) == (0, None)
    assert _describe_loggers(engine, 1)[1][name_][0] == "DEBUG"
    assert _alter_loggers(engine, 1, (name_, 1, None)) == (0, None)
    assert _describe_loggers(engine, 1)[1][name_][0] == root_level


def test_describe_topic_partitions_pages_with_a_cursor(single_broker):
    """DescribeTopicPartitions (what kafka-topics --describe sends to Kafka 4): partitions a page
    at a time, the next one named by a cursor; unknown topics answer UNKNOWN_TOPIC_OR_PARTITION."""
    from kio.schema.describe_topic_partitions.v0 import request as dtp

    from tests.engine.helpers import raw_request

    first, second = sorted((name("dtp-a"), name("dtp-b")))
    create_topic(single_broker, first, partitions=3)
    create_topic(single_broker, second, partitions=2)

    def ask(limit, cursor=None, topics=(first, second)):
        request = dtp.DescribeTopicPartitionsRequest(
            topics=tuple(dtp.TopicRequest(name=t) for t in topics), response_partition_limit=limit,
            cursor=None if cursor is None else dtp.Cursor(topic_name=cursor[0], partition_index=cursor[1]))
        response = raw_request(single_broker.bootstrap, 75, 0, request)
        pages = [(t.name, int(t.error_code), [p.partition_index for p in t.partitions]) for t in response.topics]
        nxt = response.next_cursor
        return pages, None if nxt is None else (nxt.topic_name, nxt.partition_index)

    assert ask(2) == ([(first, 0, [0, 1])], (first, 2))
    assert ask(2, (first, 2)) == ([(first, 0, [2]), (second, 0, [0])], (second, 1))
    assert ask(2, (second, 1)) == ([(second, 0, [1])], None)
    pages, cursor = ask(2000)
    assert pages == [(first, 0, [0, 1, 2]), (second, 0, [0, 1])] and cursor is None
    response = raw_request(single_broker.bootstrap, 75, 0, dtp.DescribeTopicPartitionsRequest(
        topics=(dtp.TopicRequest(name=first),), response_partition_limit=10, cursor=None))
    [partition] = response.topics[0].partitions[:1]
    assert partition.leader_id == single_broker.broker_ids[0] and list(partition.isr_nodes) == [partition.leader_id]
    assert list(partition.eligible_leader_replicas) == [] and list(partition.last_known_elr) == []
    assert ask(10, topics=("no-such-topic-here",))[0] == [("no-such-topic-here", 3, [])]


def test_incremental_alter_configs_refuses_malformed_resources_and_changes_nothing_of_them(single_broker):
    """Kafka checks a request's shape per resource first: a resource named twice, a config named
    twice, a null value for SET; each is INVALID_REQUEST and leaves the topic as it was."""
    from kio.schema.incremental_alter_configs.v1.request import (
        AlterableConfig,
        AlterConfigsResource,
        IncrementalAlterConfigsRequest,
    )
    from kio.static.primitive import i8

    from tests.engine.helpers import raw_request

    topic, other = name("shape"), name("shape-other")
    create_topic(single_broker, topic)
    create_topic(single_broker, other)

    def resource(topic_name, *configs):
        return AlterConfigsResource(resource_type=i8(2), resource_name=topic_name, configs=tuple(
            AlterableConfig(name=k, config_operation=i8(0), value=v) for k, v in configs))

    request = IncrementalAlterConfigsRequest(validate_only=False, resources=(
        resource(topic, ("retention.ms", "1000"), ("retention.ms", "2000")),
        resource(topic + "-x", ("retention.ms", "1000")), resource(topic + "-x", ("segment.ms", "7200000")),
        resource(other, ("retention.ms", None)),
        resource(other, ("segment.ms", "7200000")),  # the same topic again: both refused
    ))
    answers = raw_request(single_broker.bootstrap, 44, 1, request).responses
    assert [(int(r.error_code), r.error_message) for r in answers] == [
        (42, "Error due to duplicate config keys"),
        (42, "Each resource must appear at most once."), (42, "Each resource must appear at most once."),
        (42, "Each resource must appear at most once."), (42, "Each resource must appear at most once."),
    ]
    request = IncrementalAlterConfigsRequest(validate_only=False, resources=(resource(other, ("retention.ms", None)),))
    [answer] = raw_request(single_broker.bootstrap, 44, 1, request).responses
    assert (int(answer.error_code), answer.error_message) == (42, "Null value not supported for : retention.ms")
    a = admin(single_broker)
    for t in (topic, other):
        res = ConfigResource(ConfigResource.Type.TOPIC, t)
        assert a.describe_configs([res])[res].result(10)["retention.ms"].source == 5  # still the default


def test_delete_topics_v6_by_id(single_broker):
    """DeleteTopics v6 (KIP-516): a topic named by its id is deleted and answered with its name; an
    unknown id is UNKNOWN_TOPIC_ID; an entry naming both is INVALID_REQUEST (Java's Admin deletes
    by id with TopicCollection.ofTopicIds)."""
    from kio.schema.delete_topics.v6.request import DeleteTopicsRequest, DeleteTopicState
    from kio.schema.metadata.v12.request import MetadataRequest, MetadataRequestTopic

    from tests.engine.helpers import raw_request

    topic = name("by-id")
    create_topic(single_broker, topic)
    described = raw_request(single_broker.bootstrap, 3, 12, MetadataRequest(
        topics=(MetadataRequestTopic(name=topic, topic_id=uuid.UUID(int=0)),), allow_auto_topic_creation=False,
        include_topic_authorized_operations=False))
    topic_id = described.topics[0].topic_id
    unknown = uuid.uuid4()
    request = DeleteTopicsRequest(timeout=timedelta(seconds=10), topics=(
        DeleteTopicState(name=None, topic_id=topic_id), DeleteTopicState(name=None, topic_id=unknown),
        DeleteTopicState(name=topic, topic_id=topic_id)))
    answered = raw_request(single_broker.bootstrap, 20, 6, request).responses
    assert sorted((r.name or "", str(r.topic_id), int(r.error_code)) for r in answered) == sorted([
        (topic, str(topic_id), 0), ("", str(unknown), 100), (topic, str(topic_id), 42)])  # Kafka answers in its order
    assert topic not in admin(single_broker).list_topics(timeout=10).topics


def test_internal_topics_are_not_deleted_and_the_answer_says_why(engine):
    """Kafka deletes __consumer_offsets when asked (and every group's offsets with it); the engine
    refuses, and its answer names the reason instead of claiming an authorization failure."""
    from kio.schema.delete_topics.v5.request import DeleteTopicsRequest

    from tests.engine.helpers import raw_request

    topic = name("before-offsets")
    create_topic(engine, topic)
    client = Consumer({"bootstrap.servers": engine.bootstrap, "group.id": name("g")})
    try:  # a group's first request creates __consumer_offsets
        client.committed([TopicPartition(topic, 0)], timeout=15)
    finally:
        client.close()
    [answer] = raw_request(engine.bootstrap, 20, 5, DeleteTopicsRequest(
        topic_names=("__consumer_offsets",), timeout=timedelta(seconds=10))).responses
    assert int(answer.error_code) == 44  # POLICY_VIOLATION
    assert "coordinators keep their state in it" in answer.error_message


def test_an_illegal_topic_name_is_refused_as_illegal_not_unknown(single_broker):
    """DescribeConfigs of 'bad name' answers INVALID_TOPIC_EXCEPTION with Kafka's reason, as
    CreateTopics does (the engine said UNKNOWN_TOPIC_OR_PARTITION); a legal unknown name stays
    UNKNOWN_TOPIC_OR_PARTITION."""
    from kio.schema.describe_configs.v4 import request as dc
    from kio.static.primitive import i8

    from tests.engine.helpers import raw_request

    def describe(topic: str) -> tuple[int, str | None]:
        request = dc.DescribeConfigsRequest(resources=(dc.DescribeConfigsResource(
            resource_type=i8(2), resource_name=topic, configuration_keys=None),),
            include_synonyms=False, include_documentation=False)
        [result] = raw_request(single_broker.bootstrap, 32, 4, request).results
        return int(result.error_code), result.error_message

    reasons = {
        "bad name": "'bad name' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'",
        "": "the empty string is not allowed",
        "..": "'..' is not allowed",
        "x" * 250: f"the length of '{'x' * 250}' is longer than the max allowed length 249",
    }
    a = admin(single_broker)
    for bad, reason in reasons.items():
        assert describe(bad) == (17, f"Topic name is invalid: {reason}"), bad
        if bad:  # librdkafka refuses to send an empty name
            with pytest.raises(KafkaException) as err:
                a.create_topics([NewTopic(bad, 1, 1)])[bad].result(10)
            assert err.value.args[0].str() == f"Topic name is invalid: {reason}", bad
    assert describe(name("no-such-topic"))[0] == 3
