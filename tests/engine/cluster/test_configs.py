"""Topic configs' broker-level defaults and validation (engine/cluster/configs.py), as Kafka resolves them."""

from __future__ import annotations

from partita.engine.cluster.configs import TOPIC_CONFIGS, config_value_problem, effective_topic_config


def test_retention_and_roll_fall_back_to_minutes_then_hours_as_in_kafka():
    assert effective_topic_config("retention.ms", {}, {}) == ("604800000", "default")
    assert effective_topic_config("retention.ms", {}, {"log.retention.hours": "1"}) == ("3600000", "broker")
    assert effective_topic_config("retention.ms", {}, {"log.retention.hours": "1", "log.retention.minutes": "2"}) \
        == ("120000", "broker")
    assert effective_topic_config("retention.ms", {}, {"log.retention.minutes": "2", "log.retention.ms": "5"}) \
        == ("5", "broker")
    assert effective_topic_config("retention.ms", {"retention.ms": "9"}, {"log.retention.ms": "5"}) == ("9", "topic")
    assert effective_topic_config("segment.ms", {}, {"log.roll.hours": "2"}) == ("7200000", "broker")


def test_tiered_storage_configs_are_refused_or_checked_as_kafka_does_without_it():
    assert "Tiered Storage functionality is disabled" in config_value_problem(
        TOPIC_CONFIGS["remote.storage.enable"], "true")
    assert config_value_problem(TOPIC_CONFIGS["remote.storage.enable"], "false") is None
    assert config_value_problem(TOPIC_CONFIGS["local.retention.ms"], "1000") is None
    assert "at least -2" in config_value_problem(TOPIC_CONFIGS["local.retention.ms"], "-3")
    assert "no more than 22" in config_value_problem(TOPIC_CONFIGS["compression.zstd.level"], "23")
    assert "between 1 and 9" in config_value_problem(TOPIC_CONFIGS["compression.gzip.level"], "0")
