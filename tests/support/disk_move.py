"""Moving a replica to another log dir of its broker, for tests against the engine and Apache
Kafka alike: a 36 MB partition (a copy that takes a while), the AlterReplicaLogDirs and
DescribeLogDirs calls around it, and the broker's log-dir throttle."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from kafka.admin import KafkaAdminClient

from tests.engine.helpers import admin, create_topic, produce

IO_LIMIT = "replica.alter.log.dirs.io.max.bytes.per.second"


class DiskMove:
    """A one-partition topic of 36 MB (a copy that takes a while) and the admin calls around moving
    it to the other log dir of the broker that holds it."""

    def __init__(self, cluster):
        from kafka.structs import TopicPartitionReplica

        self.cluster = cluster
        self.topic = f"disks-{uuid.uuid4().hex[:8]}"
        create_topic(cluster, self.topic, partitions=1)
        self.big = [bytes([i]) * 900_000 for i in range(40)]
        produce(cluster, self.topic, self.big, acks="all")
        self.broker = admin(cluster).list_topics(self.topic, timeout=10).topics[self.topic].partitions[0].leader
        dirs = [str(d) for d in cluster.log_dirs_of(self.broker)]
        self.source = next(d for d in dirs if (Path(d) / f"{self.topic}-0").exists())
        self.target = next(d for d in dirs if d != self.source)
        self.replica = TopicPartitionReplica(self.topic, 0, self.broker)
        self.ka = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, request_timeout_ms=20000)

    def start(self) -> None:
        self.ka.alter_replica_log_dirs({self.replica: self.target})

    def entries(self) -> list[tuple[str, bool]]:
        """(log dir, is future replica) for every copy of the partition DescribeLogDirs lists."""
        [described] = self.ka.describe_log_dirs(topic_partitions={self.topic: [0]}, brokers=[self.broker])
        return sorted((d["log_dir"], p["is_future_key"]) for d in described["log_dirs"]
                      for t in d["topics"] for p in t["partitions"])

    def in_progress(self) -> bool:
        return self.entries() == sorted([(self.source, False), (self.target, True)])

    def wait_done(self, timeout: float = 60) -> None:
        """Until DescribeLogDirs lists the replica in the target dir only and the old directory is
        gone (Kafka renames it to `-delete` a moment after its metadata shows the swap)."""
        deadline = time.monotonic() + timeout
        while self.entries() != [(self.target, False)] or (Path(self.source) / f"{self.topic}-0").exists():
            assert time.monotonic() < deadline, f"the move did not finish: {self.entries()}"
            time.sleep(0.1)
        assert [p.name for p in Path(self.target).iterdir() if p.name.startswith(f"{self.topic}-")] == [
            f"{self.topic}-0"]

    def throttle(self, rate: int | None) -> None:
        """replica.alter.log.dirs.io.max.bytes.per.second on the broker (None removes it), once the
        broker itself reports it."""
        from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

        a = admin(self.cluster)
        op = AlterConfigOpType.SET if rate is not None else AlterConfigOpType.DELETE
        resource = ConfigResource("BROKER", str(self.broker), incremental_configs=[
            ConfigEntry(IO_LIMIT, None if rate is None else str(rate), incremental_operation=op)])
        a.incremental_alter_configs([resource])[resource].result(10)
        deadline = time.monotonic() + 10
        while True:
            described = a.describe_configs([ConfigResource("BROKER", str(self.broker))])
            # Listed only while set (Kafka's replication quotas are dynamic-only configs).
            entry = next(iter(described.values())).result(10).get(IO_LIMIT)
            if (entry is not None and entry.value == str(rate)) if rate is not None else entry is None:
                return
            assert time.monotonic() < deadline, f"broker {self.broker} reports {IO_LIMIT}={entry}"
            time.sleep(0.1)

    def close(self) -> None:
        self.ka.delete_topics([self.topic])
        self.ka.close()
