"""The 3-broker clusters (racks a/b/c) the cluster benches run: the engine's or Apache Kafka's,
with the same surface (tests/support), and a deadline-bound wait."""

from __future__ import annotations

import time
from pathlib import Path

RACKS = ["a", "b", "c"]


def start_three_brokers(target: str, workdir: Path):
    """`target` "engine" or "kafka"; the caller close()s it."""
    if target == "engine":
        from tests.support.engine_cluster import EngineCluster

        return EngineCluster(workdir, brokers=3, racks=RACKS, log_dirs=1)
    from tests.support.apache_kafka import KafkaCluster

    cluster = KafkaCluster(brokers=3, racks=tuple(RACKS), log_dirs=1, workdir=workdir)
    cluster.__enter__()
    return cluster


def wait(condition, what: str, timeout: float = 600.0) -> float:
    """Seconds until `condition()` held; TimeoutError naming `what` after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(what)
        time.sleep(0.1)
    return time.monotonic() - started
