"""LogConfig: Kafka's names and defaults."""

from __future__ import annotations

import pytest

from partita.engine.log.config import LogConfig


def test_defaults_are_kafkas():
    c = LogConfig()
    assert c.segment_bytes == 1073741824 and c.segment_ms == 604800000
    assert c.retention_ms == 604800000 and c.retention_bytes == -1
    assert c.index_interval_bytes == 4096 and c.max_message_bytes == 1048588
    assert c.message_timestamp_type == "CreateTime" and c.cleanup_policy == "delete"


def test_from_kafka_configs():
    c = LogConfig.from_kafka_configs(
        {
            "segment.bytes": "1048576",
            "retention.ms": "-1",
            "retention.bytes": "5000000",
            "message.timestamp.type": "LogAppendTime",
            "cleanup.policy": "compact, delete",
            "min.insync.replicas": "2",  # not the log's business: ignored
        }
    )
    assert (c.segment_bytes, c.retention_ms, c.retention_bytes) == (1048576, -1, 5000000)
    assert c.log_append_time and c.delete_enabled and c.cleanup_policy == "compact,delete"
    assert c.to_kafka_configs()["segment.bytes"] == "1048576"
    assert LogConfig.from_kafka_configs(c.to_kafka_configs()) == c


@pytest.mark.parametrize(
    "name,value",
    [
        ("segment.bytes", "abc"),
        ("segment.bytes", "10"),
        ("retention.ms", "-5"),
        ("message.timestamp.type", "Whenever"),
        ("cleanup.policy", "shred"),
        ("compression.gzip.level", "0"),
        ("compression.lz4.level", "18"),
        ("compression.zstd.level", "23"),
    ],
)
def test_bad_values_name_the_config(name, value):
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        LogConfig.from_kafka_configs({name: value})


def test_compression_levels_and_the_stored_level():
    c = LogConfig.from_kafka_configs({"compression.zstd.level": "7", "compression.gzip.level": "2"})
    assert (c.compression_zstd_level, c.compression_gzip_level, c.compression_lz4_level) == (7, 2, 9)
    assert c.replace(compression_type="zstd").stored_level == 7
    assert c.replace(compression_type="snappy").stored_level is None  # snappy has no levels
    topic = LogConfig.from_kafka_configs({"compression.zstd.level": "-5"}, base=c)
    assert topic.compression_zstd_level == -5
