"""Per-partition log settings, named after Kafka's topic configs, with Kafka's defaults.

`LogConfig` is frozen: a config change (IncrementalAlterConfigs) builds a new one and
assigns it to the log (`PartitionLog.config = ...`). `from_kafka_configs` reads Kafka's
dotted topic-level names (the broker-level defaults behind them are resolved first, by
engine/cluster/configs.py), `to_kafka_configs` gives the dotted names back for DescribeConfigs.

cleanup.policy=compact makes the log cleaner (cleaner.py) compact the log with
min.cleanable.dirty.ratio, min/max.compaction.lag.ms and delete.retention.ms; as in Kafka, a
compacted log is not deleted by retention unless the policy also says delete.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["LogConfig", "LONG_MAX"]

LONG_MAX = 2**63 - 1
_DAY_MS = 24 * 60 * 60 * 1000

# Kafka topic config name -> LogConfig field.
_TOPIC_NAMES = {
    "segment.bytes": "segment_bytes",
    "segment.ms": "segment_ms",
    "segment.index.bytes": "segment_index_bytes",
    "retention.ms": "retention_ms",
    "retention.bytes": "retention_bytes",
    "index.interval.bytes": "index_interval_bytes",
    "max.message.bytes": "max_message_bytes",
    "message.timestamp.type": "message_timestamp_type",
    "message.timestamp.before.max.ms": "message_timestamp_before_max_ms",
    "message.timestamp.after.max.ms": "message_timestamp_after_max_ms",
    "cleanup.policy": "cleanup_policy",
    "file.delete.delay.ms": "file_delete_delay_ms",
    "min.cleanable.dirty.ratio": "min_cleanable_dirty_ratio",
    "min.compaction.lag.ms": "min_compaction_lag_ms",
    "max.compaction.lag.ms": "max_compaction_lag_ms",
    "delete.retention.ms": "delete_retention_ms",
    "compression.type": "compression_type",
    "compression.gzip.level": "compression_gzip_level",
    "compression.lz4.level": "compression_lz4_level",
    "compression.zstd.level": "compression_zstd_level",
}

_TIMESTAMP_TYPES = ("CreateTime", "LogAppendTime")
# compression.type: "producer" keeps each batch's own codec; the others are the codec stored
COMPRESSION_TYPES = ("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd")
_POLICIES = ("delete", "compact")


@dataclass(frozen=True, slots=True)
class LogConfig:
    segment_bytes: int = 1 << 30  # segment.bytes
    segment_ms: int = 7 * _DAY_MS  # segment.ms
    segment_index_bytes: int = 10 * 1024 * 1024  # segment.index.bytes: roll when an index would exceed it
    retention_ms: int = 7 * _DAY_MS  # retention.ms; -1 = keep forever
    retention_bytes: int = -1  # retention.bytes; -1 = no size limit
    index_interval_bytes: int = 4096  # index.interval.bytes
    max_message_bytes: int = 1048588  # max.message.bytes: largest batch accepted
    message_timestamp_type: str = "CreateTime"  # or "LogAppendTime"
    message_timestamp_before_max_ms: int = LONG_MAX
    message_timestamp_after_max_ms: int = 3_600_000  # Kafka 4.0's default (one hour)
    cleanup_policy: str = "delete"  # "delete", "compact" or "compact,delete"
    file_delete_delay_ms: int = 60_000  # accepted; files are unlinked at once (see PartitionLog)
    min_cleanable_dirty_ratio: float = 0.5  # min.cleanable.dirty.ratio: dirty bytes / all bytes to clean
    min_compaction_lag_ms: int = 0  # min.compaction.lag.ms: records younger than this stay uncompacted
    max_compaction_lag_ms: int = LONG_MAX  # max.compaction.lag.ms: older dirty records force a clean
    delete_retention_ms: int = _DAY_MS  # delete.retention.ms: how long a cleaned tombstone is kept
    compression_type: str = "producer"  # compression.type: anything else is the codec batches are stored in
    # the level a recompressed batch is written at (KIP-390's ranges and defaults)
    compression_gzip_level: int = -1  # 1..9, or -1: zlib's default
    compression_lz4_level: int = 9  # 1..17; 9 is lz4's fast compressor, the others LZ4HC
    compression_zstd_level: int = 3  # -131072..22

    def __post_init__(self) -> None:
        if self.segment_bytes < 14:
            raise ValueError(f"segment.bytes must be at least 14, got {self.segment_bytes}")
        if self.segment_ms < 1:
            raise ValueError(f"segment.ms must be at least 1, got {self.segment_ms}")
        if self.segment_index_bytes < 8:
            raise ValueError(f"segment.index.bytes must be at least 8, got {self.segment_index_bytes}")
        if self.retention_ms < -1:
            raise ValueError(f"retention.ms must be -1 or more, got {self.retention_ms}")
        if self.index_interval_bytes < 0:
            raise ValueError(f"index.interval.bytes must be 0 or more, got {self.index_interval_bytes}")
        if self.max_message_bytes < 0:
            raise ValueError(f"max.message.bytes must be 0 or more, got {self.max_message_bytes}")
        if self.message_timestamp_type not in _TIMESTAMP_TYPES:
            raise ValueError(
                f"message.timestamp.type must be one of {_TIMESTAMP_TYPES}, got {self.message_timestamp_type!r}"
            )
        if self.message_timestamp_before_max_ms < 0 or self.message_timestamp_after_max_ms < 0:
            raise ValueError("message.timestamp.before/after.max.ms must be 0 or more")
        policies = [p.strip() for p in self.cleanup_policy.split(",") if p.strip()]
        if not policies or any(p not in _POLICIES for p in policies):
            raise ValueError(f"cleanup.policy must be a list of {_POLICIES}, got {self.cleanup_policy!r}")
        if self.file_delete_delay_ms < 0:
            raise ValueError(f"file.delete.delay.ms must be 0 or more, got {self.file_delete_delay_ms}")
        if not 0 <= self.min_cleanable_dirty_ratio <= 1:
            raise ValueError(
                f"min.cleanable.dirty.ratio must be between 0 and 1, got {self.min_cleanable_dirty_ratio}"
            )
        if self.min_compaction_lag_ms < 0 or self.delete_retention_ms < 0:
            raise ValueError("min.compaction.lag.ms and delete.retention.ms must be 0 or more")
        if self.compression_type not in COMPRESSION_TYPES:
            raise ValueError(f"compression.type must be one of {COMPRESSION_TYPES}, got {self.compression_type!r}")
        if not (1 <= self.compression_gzip_level <= 9 or self.compression_gzip_level == -1):
            raise ValueError(f"compression.gzip.level must be 1..9 or -1, got {self.compression_gzip_level}")
        if not 1 <= self.compression_lz4_level <= 17:
            raise ValueError(f"compression.lz4.level must be 1..17, got {self.compression_lz4_level}")
        if not -131072 <= self.compression_zstd_level <= 22:
            raise ValueError(f"compression.zstd.level must be -131072..22, got {self.compression_zstd_level}")
        if self.max_compaction_lag_ms < 1:
            raise ValueError(f"max.compaction.lag.ms must be at least 1, got {self.max_compaction_lag_ms}")

    # -- derived ----------------------------------------------------------------------

    @property
    def log_append_time(self) -> bool:
        return self.message_timestamp_type == "LogAppendTime"

    @property
    def stored_codec(self) -> int | None:
        """The codec every batch is stored in (0 none ... 4 zstd), or None to keep the producer's."""
        if self.compression_type == "producer":
            return None
        return COMPRESSION_TYPES.index(self.compression_type) - 1

    @property
    def stored_level(self) -> int | None:
        """The compression level of the stored codec, None where the codec has none."""
        return {"gzip": self.compression_gzip_level, "lz4": self.compression_lz4_level,
                "zstd": self.compression_zstd_level}.get(self.compression_type)

    @property
    def delete_enabled(self) -> bool:
        """Whether retention deletes segments (cleanup.policy contains delete)."""
        return "delete" in (p.strip() for p in self.cleanup_policy.split(","))

    @property
    def compact_enabled(self) -> bool:
        """Whether the log cleaner compacts the log (cleanup.policy contains compact)."""
        return "compact" in self.cleanup_policy  # the policy is validated: no other word contains it

    def replace(self, **changes) -> LogConfig:
        return dataclasses.replace(self, **changes)

    # -- Kafka's names ------------------------------------------------------------------

    @classmethod
    def from_kafka_configs(cls, configs: Mapping[str, str], base: LogConfig | None = None) -> LogConfig:
        """Apply Kafka topic configs (dotted names, string values) on top of `base` (defaults).

        Names the log does not use (min.insync.replicas, ...) are ignored;
        a bad value raises ValueError naming the config.
        """
        changes = {}
        for name, value in configs.items():
            field = _TOPIC_NAMES.get(name)
            if field is None or value is None:
                continue
            changes[field] = _parse(name, field, value)
        return dataclasses.replace(base or cls(), **changes)

    def to_kafka_configs(self) -> dict[str, str]:
        """Dotted name -> string value, for DescribeConfigs."""
        return {name: str(getattr(self, field)) for name, field in _TOPIC_NAMES.items()}


def _parse(name: str, field: str, value: str):
    if field == "compression_type":
        return str(value).strip()
    if field in ("message_timestamp_type", "cleanup_policy"):
        return (
            str(value).strip()
            if field == "message_timestamp_type"
            else ",".join(p.strip() for p in str(value).split(","))
        )
    try:
        if field == "min_cleanable_dirty_ratio":
            return float(str(value).strip())
        return int(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
