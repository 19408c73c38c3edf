"""The partitions this broker hosts, and their roles as the controller's images say.

Owns the Partition objects: creates logs for newly assigned replicas, switches roles on
leader changes (starting or stopping follower fetching), deletes logs of replicas that
moved away or whose topic was deleted, and proposes ISR changes to the controller.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from partita.engine.broker.log_dir_moves import LogDirMoves
from partita.engine.broker.partition import Partition, now_ms
from partita.engine.cluster.configs import TOPIC_CONFIGS, effective_topic_config
from partita.engine.cluster.metadata import MetadataImage, TopicState
from partita.engine.log.config import LogConfig
from partita.engine.protocol.errors import ErrorCode

log = logging.getLogger(__name__)
_CHECKPOINT = "replication-offset-checkpoint"


class ReplicaManager:
    def __init__(self, broker):
        self.broker = broker
        self.node_id = broker.config.node_id
        self.partitions: dict[tuple[str, int], Partition] = {}
        self._checkpointed_hw = self._read_hw_checkpoints()
        self._isr_task: asyncio.Task | None = None
        self._isr_proposals: list[tuple] = []  # (partition, state, isr, token) waiting for the next AlterPartitions
        self._latest_isr_proposal: dict[tuple[str, int], object] = {}  # partition -> token of its latest proposal
        self._applied: MetadataImage | None = None  # the image apply_image last made real
        self._isr_sender: asyncio.Task | None = None
        self.preferred_log_dirs: dict[tuple[str, int], Path] = {}  # AlterReplicaLogDirs before assignment
        self.log_dir_moves = LogDirMoves(broker)
        # topic -> (effective configs, LogConfig) as last applied: images arrive on every ISR or
        # leader change, configs change rarely, so the LogConfig is rebuilt only when they do.
        self._topic_configs: dict[str, tuple[dict[str, str], LogConfig]] = {}

    # -- configuration ----------------------------------------------------------------------

    def _configs_for(self, topic: TopicState, image: MetadataImage) -> tuple[dict[str, str], LogConfig, bool]:
        """(effective topic configs, their LogConfig, whether they changed since last applied)."""
        broker_level = {**self.broker.config.settings, **image.broker_configs.get(-1, {})}
        effective = {name: effective_topic_config(name, topic.configs, broker_level)[0] for name in TOPIC_CONFIGS}
        cached = self._topic_configs.get(topic.name)
        if cached is not None and cached[0] == effective:
            return effective, cached[1], False
        config = LogConfig.from_kafka_configs(effective)
        self._topic_configs[topic.name] = (effective, config)
        return effective, config, True

    # -- metadata -------------------------------------------------------------------------

    def apply_image(self, image: MetadataImage) -> None:
        """Make the hosted replicas what `image` says. A topic that is the very object applied last
        time (a metadata delta keeps unchanged topics) is skipped, unless the broker-level configs
        its replicas' configs fall back to changed: a change to one topic of thousands costs one."""
        previous = self._applied
        every_topic = previous is None or image.broker_configs is not previous.broker_configs
        assigned: set[tuple[str, int]] = set()
        touched: set[str] = set()
        for topic in image.topics.values():
            if not every_topic and previous.topics.get(topic.name) is topic:
                continue
            touched.add(topic.name)
            configs = None
            for index, state in enumerate(topic.partitions):
                if self.node_id not in state.replicas:
                    continue
                if configs is None:
                    configs = self._configs_for(topic, image)
                effective, config, changed = configs
                key = (topic.name, index)
                assigned.add(key)
                partition = self.partitions.get(key)
                if partition is None:
                    plog = self.broker.logs.get(topic.name, index) or self.broker.logs.create(
                        topic.name, index, config, log_dir=self.preferred_log_dirs.pop(key, None))
                    partition = self.partitions[key] = Partition(topic.name, index, plog, self.node_id)
                    partition.log.config = config
                elif changed:
                    partition.log.config = config
                partition.min_insync_replicas = int(effective["min.insync.replicas"])
                self._apply_state(partition, state)
        for name in self._topic_configs.keys() - image.topics.keys():
            del self._topic_configs[name]
        self._applied = image
        for key in list(self.partitions):
            if key not in assigned and (key[0] in touched or key[0] not in image.topics):
                partition = self.partitions.pop(key)
                if partition.state is not None:
                    partition.become_follower(partition.state)  # fails any acks=all waiting on it
                self.broker.fetchers.remove(key)
                self.log_dir_moves.cancel(key)
                self.broker.logs.delete(*key)
                log.info("removed replica %s-%d", *key)
        self.broker.fetchers.reconcile(self)

    def _apply_state(self, partition: Partition, state) -> None:
        previous = partition.state
        if state.leader == self.node_id:
            if previous is None or previous.leader != self.node_id or previous.leader_epoch != state.leader_epoch:
                partition.become_leader(state, self._checkpointed_hw.get((partition.topic, partition.index)))
            elif state != previous:  # an image about other partitions must not clear an ISR change in flight
                partition.update_state(state)
        else:
            if previous is None or previous.leader_epoch != state.leader_epoch or previous.leader != state.leader:
                partition.become_follower(state)
            else:
                partition.update_state(state)

    def get(self, topic: str, index: int) -> Partition | None:
        return self.partitions.get((topic, index))

    def move_to_log_dir(self, topic: str, index: int, target: Path):
        """Start moving a hosted replica to another log dir, or remember the dir for a future one."""
        partition = self.partitions.get((topic, index))
        if partition is None:
            self.preferred_log_dirs[(topic, index)] = target
            return ErrorCode.none
        return self.log_dir_moves.start(partition, target)

    # -- ISR maintenance ------------------------------------------------------------------

    def start(self) -> None:
        self._isr_task = asyncio.get_running_loop().create_task(self._isr_loop())

    async def _isr_loop(self) -> None:
        max_lag = int(self.broker.config.setting("replica.lag.time.max.ms", "30000"))
        interval = max(0.05, min(max_lag / 4000, 0.5))
        ticks = 0
        while True:
            await asyncio.sleep(interval)
            ticks += 1
            ts = now_ms()
            for partition in list(self.partitions.values()):
                if not partition.is_leader or partition.isr_change_in_flight:
                    continue
                lagging = partition.lagging_followers(ts, max_lag)
                if lagging:
                    new_isr = [r for r in partition.state.isr if r not in lagging]
                    log.info("shrinking ISR of %s-%d from %s to %s", partition.topic, partition.index,
                             list(partition.state.isr), new_isr)
                    self.propose_isr(partition, new_isr)
            if ticks % max(1, int(5 / interval)) == 0:
                self.write_hw_checkpoints()

    def follower_caught_up(self, partition: Partition, replica_id: int) -> None:
        if partition.isr_change_in_flight:
            return
        follower = self.broker.metadata.brokers.get(replica_id)
        if follower is None or not follower.usable:
            # Kafka's isReplicaIsrEligible: a broker the metadata does not have alive again, or has
            # in controlled shutdown, would be refused (INELIGIBLE_REPLICA) on every one of its
            # fetches; wait for the image.
            return
        new_isr = [*partition.state.isr, replica_id]
        partition.pending_isr = frozenset({replica_id})
        log.info("expanding ISR of %s-%d from %s to %s", partition.topic, partition.index,
                 list(partition.state.isr), new_isr)
        self.propose_isr(partition, new_isr)

    def propose_isr(self, partition: Partition, new_isr: list[int]) -> None:
        """Ask the controller for an ISR change. Changes proposed together (a follower's fetch
        catching up on many partitions, one pass of the lag check) go in one AlterPartitions
        call, as Kafka's AlterPartitionManager batches them: one metadata change, one image
        push, rather than one per partition."""
        partition.isr_change_in_flight = True
        token = self._latest_isr_proposal[(partition.topic, partition.index)] = object()
        self._isr_proposals.append((partition, partition.state, list(new_isr), token))
        if self._isr_sender is None:
            self._isr_sender = asyncio.get_running_loop().create_task(self._send_isr_proposals())

    async def _send_isr_proposals(self) -> None:
        try:
            while self._isr_proposals:
                batch, self._isr_proposals = self._isr_proposals, []
                await self._send_isr_batch(batch)
        finally:
            self._isr_sender = None

    async def _send_isr_batch(self, batch: list) -> None:
        changes = [{"topic": p.topic, "partition": p.index, "leader_epoch": state.leader_epoch,
                    "partition_epoch": state.partition_epoch, "isr": isr} for p, state, isr, _ in batch]
        try:
            results = (await self.broker.controller.call("AlterPartitions", node_id=self.node_id,
                                                         partitions=changes))["results"]
            if len(results) != len(batch):
                raise ValueError(f"{len(results)} answers to {len(batch)} changes")
        except Exception as exc:  # each partition proposes again when its condition still holds
            log.warning("AlterPartitions for %d partitions failed: %r", len(batch), exc)
            results = [None] * len(batch)
        for (partition, _, _, token), result in zip(batch, results, strict=True):
            key = (partition.topic, partition.index)
            if self._latest_isr_proposal.get(key) is not token:
                continue  # the image of this change freed the partition and it proposed again: that one decides
            del self._latest_isr_proposal[key]
            if result is None or result["error_code"]:
                if result is not None:
                    log.info("AlterPartition for %s-%d refused (error %d); the next image decides",
                             partition.topic, partition.index, result["error_code"])
                partition.pending_isr = frozenset()
                partition.maybe_advance_hw()
            # The new image (if any) has been pushed before the reply; allow the next proposal.
            partition.isr_change_in_flight = False

    # -- high watermark checkpoints -------------------------------------------------------

    def _read_hw_checkpoints(self) -> dict[tuple[str, int], int]:
        result = {}
        for d in self.broker.config.log_dirs:
            path = Path(d) / _CHECKPOINT
            try:
                lines = path.read_text().splitlines()
            except OSError:
                continue
            for line in lines[2:]:
                parts = line.split()
                if len(parts) == 3:
                    result[(parts[0], int(parts[1]))] = int(parts[2])
        return result

    def write_hw_checkpoints(self) -> None:
        """Kafka's replication-offset-checkpoint format: version, count, then `topic partition hw`."""
        by_dir: dict[str, list[str]] = {d: [] for d in self.broker.config.log_dirs}
        for (topic, index), partition in self.partitions.items():
            directory = str(Path(partition.log.directory).parent)
            by_dir.setdefault(directory, []).append(f"{topic} {index} {partition.high_watermark}")
        for d, lines in by_dir.items():
            path = Path(d) / _CHECKPOINT
            tmp = path.with_suffix(".tmp")
            try:
                tmp.write_text("\n".join(["0", str(len(lines)), *lines]) + "\n")
                os.replace(tmp, path)
            except OSError as exc:
                log.warning("cannot write %s: %s", path, exc)

    def close(self) -> None:
        self.log_dir_moves.cancel_all()
        if self._isr_task:
            self._isr_task.cancel()
        self.write_hw_checkpoints()
