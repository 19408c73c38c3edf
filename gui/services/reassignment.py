"""Runs, cancels and un-throttles partition reassignments on any Kafka cluster.

confluent-kafka has no reassignment API; kafka-python's admin client sends
AlterPartitionReassignments to the controller. A throttle is set the way
kafka-reassign-partitions --throttle sets it: a rate on every broker involved, and on each
moving topic the replicas it applies to (leaders: the current replicas; followers: the new
ones). Throttles outlive the reassignment until someone removes them, a classic cause of slow
recovery later, so the console removes them once its moves are over (`clear_throttles`).
Following a reassignment needs nothing here: every refresh lists those in progress.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from partita.gui.domain.reassignment import Move

from .cluster_client import _reason as cluster_reason
from .settings import ConnectionSettings, kafka_python_config

log = logging.getLogger(__name__)

RATES = ("leader.replication.throttled.rate", "follower.replication.throttled.rate")
LEADER_REPLICAS, FOLLOWER_REPLICAS = "leader.replication.throttled.replicas", "follower.replication.throttled.replicas"


class ReassignmentFailed(Exception):
    """The request as a whole failed (no controller, not authorized, unreachable)."""


@dataclass(frozen=True)
class Started:
    refused: dict[tuple[str, int], str]  # partition -> the cluster's reason
    throttled_brokers: tuple[int, ...]
    throttled_topics: tuple[str, ...]


def throttle_configs(moves: Iterable[Move]) -> tuple[set[int], dict[str, dict[str, str]]]:
    """The brokers a throttle rate goes on, and per topic its throttled replica lists."""
    brokers: set[int] = set()
    leader: dict[str, list[str]] = {}
    follower: dict[str, list[str]] = {}
    for m in moves:
        s = m.state
        brokers.update(s.replicas)
        brokers.update(m.target)
        leader.setdefault(s.topic, []).extend(f"{s.partition}:{b}" for b in s.replicas)
        follower.setdefault(s.topic, []).extend(f"{s.partition}:{b}" for b in m.adding)
    topics = {t: {LEADER_REPLICAS: ",".join(leader[t]), FOLLOWER_REPLICAS: ",".join(follower.get(t, []))}
              for t in leader}
    return brokers, topics


class ReassignmentRunner:
    def __init__(self, settings: ConnectionSettings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._kp = None

    def _admin(self):
        if self._kp is None:
            from kafka.admin import KafkaAdminClient

            try:
                self._kp = KafkaAdminClient(**kafka_python_config(self.settings,
                                                                  request_timeout_ms=int(self.timeout * 1000)))
            except Exception as e:
                raise ReassignmentFailed(f"cannot reach {self.settings.bootstrap}: {e}") from e
        return self._kp

    def close(self) -> None:
        kp, self._kp = self._kp, None
        if kp is not None:
            kp.close()

    def start(self, moves: list[Move], throttle_bytes_per_s: int | None = None) -> Started:
        """Sets the throttle (if any), then asks for every move at once. Moves the cluster refuses
        come back with its reason; the others run."""
        from kafka import TopicPartition

        kp = self._admin()
        brokers: tuple[int, ...] = ()
        topics: tuple[str, ...] = ()
        if throttle_bytes_per_s:
            throttled, per_topic = throttle_configs(moves)
            self._alter(kp, [(4, str(b), dict.fromkeys(RATES, str(throttle_bytes_per_s))) for b in sorted(throttled)]
                        + [(2, t, configs) for t, configs in sorted(per_topic.items())])
            brokers, topics = tuple(sorted(throttled)), tuple(sorted(per_topic))
        try:
            results = kp.alter_partition_reassignments(
                {TopicPartition(m.state.topic, m.state.partition): list(m.target) for m in moves},
                timeout_ms=int(self.timeout * 1000))
        except Exception as e:
            raise ReassignmentFailed(f"the controller did not take the reassignment: {_reason(e)}") from e
        refused = {(tp.topic, tp.partition): _reason(err) for tp, err in results.items() if err is not None}
        return Started(refused, brokers, topics)

    def cancel(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """Cancels the given partitions' reassignments (they go back to their replicas before it);
        returns those the cluster would not cancel, other than ones no longer running."""
        from kafka import TopicPartition

        try:
            results = self._admin().alter_partition_reassignments(
                {TopicPartition(t, p): None for t, p in keys}, timeout_ms=int(self.timeout * 1000))
        except ReassignmentFailed:
            raise
        except Exception as e:
            raise ReassignmentFailed(f"the controller did not take the cancellation: {_reason(e)}") from e
        return {(tp.topic, tp.partition): _reason(err) for tp, err in results.items()
                if err is not None and err.__name__ != "NoReassignmentInProgressError"}

    def elect_preferred(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """A preferred leader election (kafka-leader-election --election-type PREFERRED) for these
        partitions; returns those the cluster would not move, with its reason."""
        by_topic: dict[str, list[int]] = {}
        for topic, partition in keys:
            by_topic.setdefault(topic, []).append(partition)
        if not by_topic:
            return {}
        try:
            response = self._admin().elect_leaders(0, by_topic, timeout_ms=int(self.timeout * 1000),
                                                   raise_errors=False)
        except ReassignmentFailed:
            raise
        except Exception as e:
            raise ReassignmentFailed(f"the controller did not take the election: {_reason(e)}") from e
        from kafka import errors

        refused = {}
        for result in response.replica_election_results:
            for p in result.partition_result:
                err = errors.for_code(p.error_code)
                if err is not errors.NoError and err.__name__ != "ElectionNotNeededError":
                    refused[(result.topic, p.partition_id)] = _reason(err)
        return refused

    def clear_throttles(self, brokers: Iterable[int], topics: Iterable[str]) -> None:
        kp = self._admin()
        delete = 1  # AlterConfigOp.DELETE
        self._alter(kp, [(4, str(b), {k: (delete, None) for k in RATES}) for b in brokers]
                    + [(2, t, {LEADER_REPLICAS: (delete, None), FOLLOWER_REPLICAS: (delete, None)}) for t in topics])

    @staticmethod
    def _alter(kp, resources: list[tuple[int, str, dict]]) -> None:
        if not resources:
            return
        from kafka.admin import ConfigResource, ConfigResourceType

        try:
            result = kp.alter_configs(
                [ConfigResource(ConfigResourceType(kind), name, configs) for kind, name, configs in resources],
                raise_on_unknown=False, incremental=True)
        except Exception as e:
            raise ReassignmentFailed(f"could not set the throttle: {_reason(e)}") from e
        failed = [f"{kind} {name}: {r}" for kind, by_name in result.items() for name, r in by_name.items() if r != "OK"]
        if failed:
            raise ReassignmentFailed("could not set the throttle: " + "; ".join(failed))


def _reason(e) -> str:
    if isinstance(e, type):  # an error class, as kafka-python reports per-partition errors
        return f"{e.__name__}: {getattr(e, 'description', '')}".rstrip(": ")
    return cluster_reason(e)
