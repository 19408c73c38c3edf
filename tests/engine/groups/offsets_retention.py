"""The offsets-retention scenario, run in a background thread from the start of the session.

Kafka's smallest offsets retention is one minute (`offsets.retention.minutes=1`), so the
scenario has a minute of waiting in it. Started as the session starts (tests/conftest.py
asks for it when its test is collected), that minute passes while other tests run; the test
then reads what the thread saw. The thread owns its cluster's clients: nothing else touches
them until it has finished.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.engine.groups.members import Member, drive, group_offsets
from tests.engine.helpers import create_topic, produce
from tests.support.engine_cluster import EngineCluster

TEST_NAME = "test_offsets_of_groups_that_stay_empty_expire_after_offsets_retention_minutes"
SETTINGS = {"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "10",
            "offsets.retention.minutes": "1", "offsets.retention.check.interval.ms": "500"}
TOPIC = "retention-t"
WATCH_S = 95.0  # a minute of retention, the check interval, and room on a busy machine


class RetentionScenario:
    """A group that becomes empty at t=0 ("retention-empty"), a simple group's offsets written
    by an admin client at t=0 ("retention-simple"), and a group that stays stable
    ("retention-active"); `observations` holds (seconds since t=0, empty's offsets, simple's
    offsets) about twice a second until both have expired and a little after."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.cluster: EngineCluster | None = None
        self.observations: list[tuple[float, dict, dict]] = []
        self.listed_after: set[str] = set()
        self.active_offsets_after: dict[int, int] | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="offsets-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait(self, timeout: float) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the offsets-retention scenario is still running")
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self._thread.join(WATCH_S + 60)
        if self.cluster is not None:
            self.cluster.close()

    def _run(self) -> None:
        try:
            self.cluster = EngineCluster(self.workdir, brokers=1, settings=SETTINGS)
            self._scenario(self.cluster)
        except BaseException as exc:  # reported by wait()
            self.error = exc

    def _scenario(self, cluster: EngineCluster) -> None:
        create_topic(cluster, TOPIC, partitions=2)
        produce(cluster, TOPIC, [b"r"] * 4, partition=0)
        leaver = Member(cluster, "retention-empty", [TOPIC], name="leaver")
        active = Member(cluster, "retention-active", [TOPIC], name="active")
        try:
            drive([leaver, active], lambda: len(leaver.records) >= 4 and len(active.records) >= 4, what="records")
            leaver.close()  # the group becomes empty now: its offsets expire a minute from now
            start = time.monotonic()
            client = AdminClient({"bootstrap.servers": cluster.bootstrap})
            client.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(
                "retention-simple", [TopicPartition(TOPIC, 1, 0)])])["retention-simple"].result(timeout=15)
            next_look = 0.0
            while (elapsed := time.monotonic() - start) < WATCH_S:
                active.poll(0.2)  # the stable member stays in its group meanwhile
                if elapsed >= next_look:
                    empty, simple = group_offsets(cluster, "retention-empty"), group_offsets(cluster, "retention-simple")
                    self.observations.append((elapsed, empty, simple))
                    if not empty and not simple and elapsed > 60:
                        break
                    next_look = elapsed + 0.5
            self.listed_after = {g.group_id for g in client.list_consumer_groups().result(timeout=15).valid}
            self.active_offsets_after = group_offsets(cluster, "retention-active")
        finally:
            leaver.close()
            active.close()
