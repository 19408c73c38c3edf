"""A broker process: its Kafka listener, its logs and replicas, and its link to the controller.

The broker registers with the controller (BrokerRegistration), heartbeats, and receives
every new metadata image the controller commits. It never changes cluster metadata
itself: topic creation, ISR changes and the like are requests to the controller.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from pathlib import Path

from partita.engine.broker.config import BrokerConfig
from partita.engine.broker.connection import KafkaConnection
from partita.engine.broker.connection_limits import ConnectionLimits
from partita.engine.broker.dispatch import Dispatcher
from partita.engine.broker.fetch_sessions import FetchSessionCache
from partita.engine.broker.hooks import FaultHooks
from partita.engine.broker.log_cleaning import LogCleanerTask
from partita.engine.broker.producer_ids import ProducerIdBlock
from partita.engine.broker.replica_fetcher import FetcherManager
from partita.engine.broker.replica_manager import ReplicaManager
from partita.engine.broker.sasl_connection import SASL_PLAINTEXT, SaslConnection, enabled_mechanisms
from partita.engine.cluster.metadata import MetadataImage
from partita.engine.cluster.processes import pid_alive
from partita.engine.cluster.rpc import RpcClient
from partita.engine.log.config import LogConfig
from partita.engine.log.log_manager import LogManager

log = logging.getLogger(__name__)
HEARTBEAT_S = 0.25
LOST_BROKER_GRACE_S = 0.5
CONTROLLED_SHUTDOWN_TIMEOUT_S = 5.0
CONTROLLED_SHUTDOWN_LINGER_S = 0.5


class Broker:
    def __init__(self, config: BrokerConfig):
        self.config = config
        self.hooks = FaultHooks()
        self.metadata = MetadataImage.empty(config.cluster_id)
        self.logs = LogManager([Path(d) for d in config.log_dirs], LogConfig())
        self.replicas = ReplicaManager(self)
        self.fetchers = FetcherManager(self)
        self.fetch_sessions = FetchSessionCache(
            int(config.setting("max.incremental.fetch.session.cache.slots", "1000")))
        self.groups = None  # the group coordinator attaches itself here (engine/groups)
        self.transactions = None  # and the transaction coordinator (engine/transactions)
        self.txn_verifier = None  # asks coordinators before a batch opens a transaction (KIP-890)
        self.producer_ids = ProducerIdBlock(self)
        self.cleaner = LogCleanerTask(self)
        self.controller: RpcClient | None = None
        self.server: asyncio.base_events.Server | None = None
        self.sasl_server: asyncio.base_events.Server | None = None  # the SASL_PLAINTEXT listener, if any
        self.stopped = asyncio.Event()
        self._image_changed = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self.lost_brokers: dict[int, float] = {}  # node id -> when this broker learned it was lost

    @property
    def node_id(self) -> int:
        return self.config.node_id

    def listed_brokers(self):
        """Brokers for Metadata: the live ones, and for a short grace the ones just lost.

        A client that learns of a new leader and of its old broker's removal in the same
        Metadata answer may drop the partition while it tears down that broker (librdkafka
        then waits for its next periodic refresh, about a second). Listing a lost broker for
        half a second lets clients move partitions first (they learn the new leader within about
        0.1 s, see suspected_down); longer would keep them retrying the dead broker, and their
        reconnect backoff would delay them when it returns and leads again. offline_replicas
        marks it meanwhile.
        """
        now = time.monotonic()
        return [b for b in self.metadata.brokers.values()
                if b.alive or now - self.lost_brokers.get(b.node_id, -LOST_BROKER_GRACE_S) < LOST_BROKER_GRACE_S]

    def suspected_down(self) -> set[int]:
        """Brokers the image still calls alive whose process has already ended.

        The controller learns of a broker's death within milliseconds, but a client that saw
        its connection reset asks for metadata within one; answering "leader unknown" for
        that window keeps the client asking until the new leader is known, instead of it
        trusting the dead leader until its next periodic refresh.
        """
        return {b.node_id for b in self.metadata.brokers.values()
                if b.alive and b.pid and b.node_id != self.node_id and not pid_alive(b.pid)}

    def setting(self, name: str, default: str) -> str:
        """A broker setting: the cluster's dynamic value, then this broker's static one."""
        dynamic = self.metadata.broker_configs
        for scope in (self.node_id, -1):
            if name in dynamic.get(scope, {}):
                return dynamic[scope][name]
        return self.config.setting(name, default)

    async def start(self) -> None:
        dispatcher = Dispatcher(self)
        max_request = int(self.config.setting("socket.request.max.bytes", "104857600"))
        limits = ConnectionLimits(self.setting)
        # Listening at once but accepting only once registered with the metadata installed (as
        # Kafka enables request processing after its first catch-up): a client that connects
        # early waits in the backlog rather than being answered from an empty image.
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: KafkaConnection(dispatcher, max_request, limits), sock=self._listen(self.config.port),
            start_serving=False)
        listeners = []
        if self.config.sasl_port is not None:
            sasl_dispatcher = Dispatcher(self, SASL_PLAINTEXT)
            self.sasl_server = await loop.create_server(
                lambda: SaslConnection(sasl_dispatcher, max_request, limits, self),
                sock=self._listen(self.config.sasl_port), start_serving=False)
            listeners.append([SASL_PLAINTEXT, self.config.sasl_port])
        self.controller = await RpcClient.connect(
            self.config.controller_host, self.config.controller_port, on_push=self._on_push
        )
        result = await self.controller.call(
            "BrokerRegistration",
            node_id=self.node_id,
            host=self.config.host,
            port=self.config.port,
            rack=self.config.rack,
            log_dirs=list(self.config.log_dirs),
            pid=os.getpid(),
            listeners=listeners,
        )
        registered = MetadataImage.from_json(result["image"])
        # Pushes may have brought a newer image while the answer was on its way: never go back.
        if registered.version > self.metadata.version:
            self._install(registered)
        self.replicas.start()
        if self.groups is None:
            self._attach_coordinators()
        self._tasks += [
            loop.create_task(self._heartbeat()),
            loop.create_task(self._retention()),
            loop.create_task(self._expire_producers()),
            loop.create_task(self.cleaner.run()),
        ]
        loop.create_task(self._exit_when_controller_gone())
        await self.server.start_serving()
        log.info("broker %d serving on %s:%d", self.node_id, self.config.host, self.config.port)
        if self.sasl_server is not None:
            await self.sasl_server.start_serving()
            log.info("broker %d serving SASL_PLAINTEXT (%s) on %s:%d", self.node_id,
                     ",".join(enabled_mechanisms(self)), self.config.host, self.config.sasl_port)

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.config.host, port))
        listener.listen(1024)
        listener.setblocking(False)
        return listener

    def _attach_coordinators(self) -> None:
        from partita.engine.groups.coordinator import GroupCoordinator
        from partita.engine.transactions.coordinator import TransactionCoordinator
        from partita.engine.transactions.verification import PartitionVerifier

        self.groups = GroupCoordinator(self)
        self.transactions = TransactionCoordinator(self)
        self.txn_verifier = PartitionVerifier(self)

    def _on_push(self, message: dict) -> None:
        kind = message.get("push")
        if kind == "metadata":
            image = MetadataImage.from_json(message["image"])
            if image.version > self.metadata.version:
                self._install(image)
        elif kind == "metadata_delta":
            delta = message["delta"]
            if delta["version"] <= self.metadata.version:
                return  # had it already (a registration's answer carries the image too)
            if delta["base"] == self.metadata.version:
                self._install(self.metadata.with_delta(delta))
            else:
                log.warning("metadata change %d builds on %d, this broker has %d; asking for the whole image",
                            delta["version"], delta["base"], self.metadata.version)
                asyncio.get_running_loop().create_task(self._resync())
        elif kind == "fault":  # failure rehearsal: partita-engine fault / launcher.inject_fault
            if message.get("clear"):
                self.hooks.clear()
            elif message.get("disconnect"):
                self.hooks.push_disconnects(message["api_key"], message.get("count", 1))
            else:
                self.hooks.push_delays(message["api_key"], message.get("delay_ms", 0), message.get("count", 1))
            log.warning("fault hook set: %s", {k: v for k, v in message.items() if k != "push"})

    def _install(self, image: MetadataImage) -> None:
        now = time.monotonic()
        for node_id, old in self.metadata.brokers.items():
            new = image.brokers.get(node_id)
            if old.alive and not old.shutting_down and (new is None or not new.alive):
                self.lost_brokers[node_id] = now  # (one that shut down led nothing: no grace)
        for node_id in [n for n, b in image.brokers.items() if b.alive and n in self.lost_brokers]:
            del self.lost_brokers[node_id]
        self.metadata = image
        self.replicas.apply_image(image)
        if self.groups is not None:
            self.groups.on_metadata(image)
        if self.transactions is not None:
            self.transactions.on_metadata(image)
        self._image_changed.set()
        self._image_changed = asyncio.Event()

    async def _resync(self) -> None:
        try:
            result = await self.controller.call("MetadataImage")
        except Exception as exc:
            log.warning("could not fetch the metadata image: %r", exc)
            return
        image = MetadataImage.from_json(result["image"])
        if image.version > self.metadata.version:
            self._install(image)

    async def wait_for_metadata(self, predicate, timeout_s: float) -> bool:
        """Wait until `predicate(image)` holds (after a controller change we asked for)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not predicate(self.metadata):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._image_changed.wait(), remaining)
            except TimeoutError:
                return False
        return True

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self.controller.call("BrokerHeartbeat", node_id=self.node_id,
                                           metadata_version=self.metadata.version, timeout=5)
            except Exception as exc:
                log.warning("heartbeat failed: %r", exc)  # a timeout has no message of its own

    async def _retention(self) -> None:
        interval = int(self.config.setting("log.retention.check.interval.ms", "300000")) / 1000
        while True:
            await asyncio.sleep(interval)
            try:
                from partita.engine.broker.partition import now_ms

                deleted = self.logs.apply_retention(now_ms())
                if deleted:
                    log.info("retention deleted %d bytes", deleted)
            except Exception:
                log.exception("retention check failed")

    async def _expire_producers(self) -> None:
        """Forget producers idle for producer.id.expiration.ms (dynamic), checked every
        producer.id.expiration.check.interval.ms (static; Kafka's internal setting). The first
        check runs at start: Kafka leaves expired producers out when it loads a snapshot."""
        from partita.engine.broker.partition import now_ms

        interval = int(self.config.setting("producer.id.expiration.check.interval.ms", "600000")) / 1000
        while True:
            try:
                removed = self.logs.remove_expired_producers(
                    now_ms(), int(self.setting("producer.id.expiration.ms", "86400000")))
                if removed:
                    log.info("forgot %d idle producer states", removed)
            except Exception:
                log.exception("producer expiration check failed")
            await asyncio.sleep(interval)

    async def _exit_when_controller_gone(self) -> None:
        await self.controller.closed
        if not self.stopped.is_set():
            log.warning("lost the connection to the supervisor; shutting down")
            self.stopped.set()

    async def controlled_shutdown(self) -> None:
        """Before stopping (Kafka's controlled shutdown): ask the controller to move this broker's
        leaderships and take it out of the ISRs, and keep serving until this broker has that
        image, so clients are told NOT_LEADER_OR_FOLLOWER (and waiting fetches and acks=all
        writes are answered) instead of losing their connections mid-request."""
        if self.controller is None or self.controller.closed.done():
            return
        try:
            result = await self.controller.call("ControlledShutdown", node_id=self.node_id,
                                                timeout=CONTROLLED_SHUTDOWN_TIMEOUT_S)
        except Exception as exc:
            log.warning("controlled shutdown failed, stopping without it: %r", exc)
            return
        if result.get("cluster_stopping"):
            return  # every broker is stopping: there is nowhere to move leaderships to
        version = result["version"]
        if await self.wait_for_metadata(lambda image: image.version >= version, CONTROLLED_SHUTDOWN_TIMEOUT_S):
            led = sum(1 for t in self.metadata.topics.values() for p in t.partitions if p.leader == self.node_id)
            log.info("controlled shutdown: metadata version %d applied, leading %d partitions", version, led)
            # Clients told NOT_LEADER_OR_FOLLOWER ask for metadata (often of this broker) before
            # they move on; closing at once left some reconnecting here to a closed port (2-4
            # connection errors per rolling restart in bench/rolling_restart.py, none with this).
            # Kafka's broker serves on until its next heartbeat lets it go.
            await asyncio.sleep(CONTROLLED_SHUTDOWN_LINGER_S)
        else:
            log.warning("controlled shutdown: metadata version %d did not arrive; stopping anyway", version)
            return
        # Then out of the metadata before the listener closes (Kafka fences the broker before
        # its socket server stops), so no client is sent to a port about to refuse it.
        try:
            result = await self.controller.call("ControlledShutdown", node_id=self.node_id, done=True,
                                                timeout=CONTROLLED_SHUTDOWN_TIMEOUT_S)
        except Exception as exc:
            log.warning("controlled shutdown: could not leave the metadata first: %r", exc)
            return
        version = result["version"]
        await self.wait_for_metadata(lambda image: image.version >= version, CONTROLLED_SHUTDOWN_TIMEOUT_S)

    async def stop(self) -> None:
        self.cleaner.stop()
        for task in self._tasks:
            task.cancel()
        self.fetchers.stop()
        if self.server:
            self.server.close()
        if self.sasl_server:
            self.sasl_server.close()
        if self.groups is not None and hasattr(self.groups, "close"):
            await self.groups.close()
        if self.transactions is not None:
            await self.transactions.close()
        if self.txn_verifier is not None:
            self.txn_verifier.close()
        self.replicas.close()
        self.logs.close()
        if self.controller:
            await self.controller.close()
        self.stopped.set()
