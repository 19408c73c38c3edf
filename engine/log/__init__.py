"""The broker's log storage: Kafka's on-disk layout, batches kept as bytes.

Entry points: `PartitionLog` (one partition replica's log), `LogManager` (all logs of a
broker over its log dirs), `LogConfig` (Kafka's topic configs). `batch` handles the v2
batch header; `records` builds and walks records for the few users that need them.
"""

from .config import LogConfig
from .errors import LogError
from .log_manager import LogManager
from .partition_log import AppendResult, PartitionLog, ReadResult

__all__ = ["AppendResult", "LogConfig", "LogError", "LogManager", "PartitionLog", "ReadResult"]
