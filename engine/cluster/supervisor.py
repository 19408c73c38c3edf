"""The supervisor process: hosts the controller and runs one OS process per broker.

It notices a broker's exit at once (it is the parent) and tells the controller, which
moves that broker's leaderships; it also fences brokers whose heartbeats stop. The live
description of the cluster (pids, ports, states) is rewritten to cluster.json on every
change, for `partita-engine status`, the console and tests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
import warnings
from pathlib import Path

from partita.engine.broker.config import BrokerConfig
from partita.engine.cluster import layout
from partita.engine.cluster.controller import Controller, ControllerError
from partita.engine.cluster.metadata import MetadataImage
from partita.engine.cluster.processes import module_command, on_exit
from partita.engine.cluster.rpc import RpcError, RpcSession, serve_session
from partita.engine.cluster.store import MetadataStore

log = logging.getLogger(__name__)
# Kafka's broker.session.timeout.ms: a broker that stops heartbeating (hung, not dead: a dead
# process is noticed at once) is fenced after this long. Shorter fenced live brokers whose
# event loops a loaded 2-core machine held up for a few seconds (3,000 partitions being created).
SESSION_TIMEOUT_S = 9.0
LIVENESS_TICK_S = 0.25


def silent_brokers(brokers, image, now: float) -> list[int]:
    """Brokers the metadata has alive whose last heartbeat is older than the session timeout."""
    out = []
    for bp in brokers:
        info = image.brokers.get(bp.spec.node_id)
        if info is not None and info.alive and now - bp.last_heartbeat > SESSION_TIMEOUT_S:
            out.append(bp.spec.node_id)
    return out


class ChildBroker:
    def __init__(self, spec: layout.BrokerSpec):
        self.spec = spec
        self.process: asyncio.subprocess.Process | None = None
        self.state = "stopped"  # starting, running, stopping, stopped, killed, exited
        self.exit_code: int | None = None
        self.last_heartbeat = 0.0
        # for DescribeQuorum: the metadata version the broker reported last, when (wall-clock ms),
        # and when it last reported the controller's newest version
        self.metadata_version = -1
        self.heartbeat_ms = -1
        self.caught_up_ms = -1
        self.session: RpcSession | None = None
        self.expected_exit = False
        self.watcher: asyncio.Task | None = None  # records the process's exit (Supervisor._watch)


class Supervisor:
    def __init__(self, cluster_dir: Path, spec: layout.ClusterSpec, owner_pids: tuple[int, ...] = ()):
        self.dir = cluster_dir
        self.spec = spec
        self.brokers = {b.node_id: ChildBroker(b) for b in spec.brokers}
        self.store = MetadataStore(cluster_dir / "metadata.db")
        self.controller = Controller(self.store, spec.cluster_id, spec.settings)
        self.controller.subscribe(self._on_image)
        self.sessions: set[RpcSession] = set()
        self._pushed: dict[RpcSession, MetadataImage] = {}  # the image each broker's session has last got
        self.ready = asyncio.Event()
        self.stopping = asyncio.Event()
        self.server = None
        # processes whose end stops the cluster: a foreground `up`, a test session
        self.owner_pids: set[int] = set(owner_pids)
        self._owner_polls: list[asyncio.Task] = []

    # -- lifecycle ------------------------------------------------------------------------

    async def run(self) -> None:
        self.server = await asyncio.start_server(
            lambda r, w: serve_session(r, w, self._handle, self._on_session_closed),
            layout.HOST, self.spec.supervisor_port, reuse_address=True,
        )
        for pid in self.owner_pids:
            self._watch_owner(pid)
        self._write_description()
        for node_id in self.brokers:
            await self.start_broker(node_id)
        loop = asyncio.get_running_loop()
        liveness = loop.create_task(self._liveness())
        await self.stopping.wait()
        liveness.cancel()
        await self._stop_all()
        self.server.close()
        self.store.close()
        layout.description_path(self.dir).unlink(missing_ok=True)

    def _watch_owner(self, pid: int) -> None:
        def gone() -> None:
            if not self.stopping.is_set():
                log.info("owner process %d ended: stopping the cluster", pid)
                self.stopping.set()

        poll = on_exit(pid, gone)
        if poll is not None:
            self._owner_polls.append(poll)

    async def start_broker(self, node_id: int) -> None:
        bp = self.brokers[node_id]
        if bp.process is not None and bp.process.returncode is None:
            if bp.state != "stopping":
                return
            try:  # still shutting down (a SIGTERM from elsewhere): start it again once its exit is recorded
                await asyncio.wait_for(asyncio.shield(bp.watcher), 20)
            except TimeoutError:
                return
        spec = bp.spec
        moved = False
        if not layout.port_is_free(spec.port):
            spec.port, moved = layout.free_port(), True
        if spec.sasl_port is not None and not layout.port_is_free(spec.sasl_port):
            spec.sasl_port, moved = layout.free_port(), True
        if moved:
            layout.write_json_atomically(layout.spec_path(self.dir), self.spec.to_json())
        for d in spec.log_dirs:
            Path(d).mkdir(parents=True, exist_ok=True)
        config = BrokerConfig(
            node_id=node_id, host=layout.HOST, port=spec.port, rack=spec.rack, log_dirs=tuple(spec.log_dirs),
            controller_host=layout.HOST, controller_port=self.spec.supervisor_port,
            cluster_id=self.spec.cluster_id, settings=self.spec.settings, sasl_port=spec.sasl_port,
        )
        config_path = self.dir / f"broker-{node_id}" / "broker.json"
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(config.to_json())
        logs = self.dir / "logs"
        logs.mkdir(exist_ok=True)
        log_file = open(logs / f"broker-{node_id}.log", "ab")  # noqa: SIM115 - handed to the child
        bp.process = await asyncio.create_subprocess_exec(
            *module_command("partita.engine.broker"), str(config_path),
            stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file,
        )
        log_file.close()
        bp.state, bp.exit_code, bp.expected_exit = "starting", None, False
        self._update_ready()
        bp.last_heartbeat = time.monotonic()
        bp.watcher = asyncio.get_running_loop().create_task(self._watch(bp, bp.process))
        self._write_description()

    async def _watch(self, bp: ChildBroker, process) -> None:
        code = await process.wait()
        if bp.process is not process:
            return
        bp.exit_code = code
        bp.state = "killed" if code == -signal.SIGKILL else ("stopped" if bp.expected_exit else "exited")
        self._update_ready()
        self.controller.broker_lost(bp.spec.node_id, f"process {process.pid} ended with code {code}",
                                    expected=bp.expected_exit)
        self._write_description()

    def kill_broker(self, node_id: int) -> None:
        bp = self.brokers[node_id]
        if bp.process is not None and bp.process.returncode is None:
            bp.process.send_signal(signal.SIGKILL)

    async def stop_broker(self, node_id: int, timeout: float = 15.0) -> None:
        bp = self.brokers[node_id]
        process = bp.process
        if process is None or process.returncode is not None:
            return
        bp.expected_exit = True
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.send_signal(signal.SIGKILL)
            await process.wait()

    def _controlled_shutdown(self, node_id: int, done: bool) -> dict:
        """A broker that was asked to stop (SIGTERM, from stop_broker or anyone) moves its
        leaderships away first, and once it has served its last (`done`) leaves the metadata;
        each time it waits for the image this returns the version of. When the whole cluster
        stops there is nowhere to move them: it answers at once."""
        if done:
            self.controller.broker_lost(node_id, "controlled shutdown done", expected=True)
            return {"version": self.controller.image.version}
        bp = self.brokers.get(node_id)
        if bp is not None and bp.process is not None and bp.process.returncode is None:
            bp.expected_exit = True
            bp.state = "stopping"
            self._update_ready()
            self._write_description()
        if self.stopping.is_set():
            return {"version": self.controller.image.version, "cluster_stopping": True}
        return {"version": self.controller.begin_controlled_shutdown(node_id).version}

    async def _stop_all(self) -> None:
        await asyncio.gather(*(self.stop_broker(n) for n in self.brokers))

    async def _liveness(self) -> None:
        c = self.controller
        interval = float(c.broker_setting("leader.imbalance.check.interval.seconds"))
        next_rebalance = time.monotonic() + interval
        ticks = 0
        last_tick = time.monotonic()
        while True:
            await asyncio.sleep(LIVENESS_TICK_S)
            ticks += 1
            now = time.monotonic()
            gap, last_tick = now - last_tick, now
            if ticks % 8 == 0 and not self.dir.is_dir():
                # Deleted under us (rm -rf, a test runner cleaning old temp dirs after its run
                # was killed): nothing can persist any more, and nobody could find us to stop us.
                log.warning("cluster directory %s is gone; stopping the cluster", self.dir)
                self.stopping.set()
                return
            if now >= next_rebalance:
                next_rebalance = now + interval
                if c.broker_setting("auto.leader.rebalance.enable") == "true":
                    c.rebalance_leaders()
            if gap > SESSION_TIMEOUT_S / 2:
                # This loop itself was held up (a loaded machine, a slow disk): the heartbeats that
                # came meanwhile wait behind it unread. Read them before judging any broker.
                log.warning("the supervisor was held up %.1f s; checking broker heartbeats on the next tick", gap)
                continue
            for node_id in silent_brokers(self.brokers.values(), self.controller.image, now):
                self.controller.broker_lost(node_id, "heartbeats stopped")

    def _describe_quorum(self) -> dict:
        """The controller as a one-voter quorum (DescribeQuorum, engine/api/k55_describe_quorum.py):
        the broker named controller stands for it; every other live broker is an observer whose
        log end offset is the metadata version it has applied."""
        c = self.controller
        now_ms = int(time.time() * 1000)
        leader = c.image.controller_id
        observers = []
        for node_id, bp in sorted(self.brokers.items()):
            info = c.image.brokers.get(node_id)
            if node_id == leader or info is None or not info.alive:
                continue
            observers.append({"replica_id": node_id, "log_end_offset": bp.metadata_version,
                              "last_fetch_timestamp": bp.heartbeat_ms, "last_caught_up_timestamp": bp.caught_up_ms})
        voters = []
        if leader >= 0:
            voters.append({"replica_id": leader, "log_end_offset": c.image.version,
                           "last_fetch_timestamp": now_ms, "last_caught_up_timestamp": now_ms})
        return {"leader_id": leader, "leader_epoch": c.controller_epoch, "high_watermark": c.image.version,
                "voters": voters, "observers": observers}

    # -- description ------------------------------------------------------------------------

    def _on_image(self, image: MetadataImage) -> None:
        """Push the new image to every broker: what changed since the image its session last got
        (MetadataImage.delta_json), or the whole image to a session that has none yet."""
        messages: dict[int, dict] = {}  # by the version the message builds on (-1: the whole image)
        for session in list(self.sessions):
            if session.node_id is None:
                continue
            base = self._pushed.get(session)
            key = base.version if base is not None else -1
            message = messages.get(key)
            if message is None:
                message = messages[key] = ({"push": "metadata", "image": image.to_json()} if base is None else
                                           {"push": "metadata_delta", "delta": image.delta_json(base)})
            session.push(message)
            self._pushed[session] = image
        registered = {b.node_id for b in image.live_brokers()}
        for node_id, bp in self.brokers.items():
            if node_id in registered and bp.state == "starting":
                bp.state = "running"
        self._update_ready()
        self._write_description()

    def _update_ready(self) -> None:
        """Ready while every broker runs and is registered (a killed or stopped one clears it)."""
        if all(bp.state == "running" for bp in self.brokers.values()):
            self.ready.set()
        else:
            self.ready.clear()

    def describe(self) -> dict:
        image = self.controller.image
        brokers = []
        for node_id, bp in sorted(self.brokers.items()):
            live = image.brokers.get(node_id)
            brokers.append({
                "node_id": node_id,
                "host": layout.HOST,
                "port": bp.spec.port,
                "sasl_port": bp.spec.sasl_port,
                "rack": bp.spec.rack,
                "log_dirs": bp.spec.log_dirs,
                "pid": bp.process.pid if bp.process and bp.process.returncode is None else None,
                "state": bp.state,
                "alive": bool(live and live.alive),
                "exit_code": bp.exit_code,
            })
        return {
            "cluster_id": self.spec.cluster_id,
            "supervisor": {"pid": os.getpid(), "port": self.spec.supervisor_port},
            "bootstrap_servers": ",".join(f"{layout.HOST}:{b['port']}" for b in brokers),
            # the SASL_PLAINTEXT listeners (partita-engine up --sasl-users), or None
            "sasl_bootstrap_servers": ",".join(f"{layout.HOST}:{b['sasl_port']}" for b in brokers
                                               if b["sasl_port"] is not None) or None,
            "controller_id": image.controller_id,
            "ready": self.ready.is_set(),
            "owner_pids": sorted(self.owner_pids),
            "brokers": brokers,
        }

    def _write_description(self) -> None:
        layout.write_json_atomically(layout.description_path(self.dir), self.describe())

    # -- RPC ------------------------------------------------------------------------------

    def _on_session_closed(self, session: RpcSession) -> None:
        self.sessions.discard(session)
        self._pushed.pop(session, None)

    async def _handle(self, op: str, args: dict, session: RpcSession):
        self.sessions.add(session)
        c = self.controller
        try:
            if op == "BrokerRegistration":
                node_id = args["node_id"]
                session.node_id = node_id
                bp = self.brokers.get(node_id)
                if bp is not None:
                    bp.last_heartbeat = time.monotonic()
                    bp.metadata_version = args.get("metadata_version", -1)
                    bp.heartbeat_ms = int(time.time() * 1000)
                    if bp.metadata_version >= c.image.version:
                        bp.caught_up_ms = bp.heartbeat_ms
                image = c.register_broker(node_id, args["host"], args["port"], args.get("rack"), args["log_dirs"],
                                          args.get("pid"), args.get("listeners", ()))
                return {"image": image.to_json()}
            if op == "BrokerHeartbeat":
                bp = self.brokers.get(args["node_id"])
                if bp is not None:
                    bp.last_heartbeat = time.monotonic()
                    bp.metadata_version = args.get("metadata_version", -1)
                    bp.heartbeat_ms = int(time.time() * 1000)
                    if bp.metadata_version >= c.image.version:
                        bp.caught_up_ms = bp.heartbeat_ms
                    live = c.image.brokers.get(args["node_id"])
                    if live is not None and not live.alive and bp.state == "running":
                        c.register_broker(live.node_id, live.host, live.port, live.rack, list(live.log_dirs),
                                          live.pid, live.listeners)
                return {}
            if op == "ControlledShutdown":
                return self._controlled_shutdown(args["node_id"], args.get("done", False))
            if op == "MetadataImage":  # a broker that missed a change asks for the whole image
                self._pushed[session] = c.image
                return {"image": c.image.to_json()}
            if op == "DescribeQuorum":
                return self._describe_quorum()
            if op == "AlterPartition":
                return c.alter_partition(args["node_id"], args["topic"], args["partition"], args["leader_epoch"],
                                         args["partition_epoch"], args["isr"])
            if op == "AlterPartitions":
                return {"results": c.alter_partitions(args["node_id"], args["partitions"])}
            if op == "CreateTopics":
                return c.create_topics(args["topics"], args.get("validate_only", False))
            if op == "DeleteTopics":
                return c.delete_topics(args["names"])
            if op == "CreatePartitions":
                return c.create_partitions(args["topics"], args.get("validate_only", False))
            if op == "IncrementalAlterConfigs":
                return c.alter_configs(args["resources"], args.get("validate_only", False))
            if op == "AlterPartitionReassignments":
                return c.alter_reassignments(args["partitions"])
            if op == "ListPartitionReassignments":
                return c.list_reassignments()
            if op == "ElectLeaders":
                parts = args.get("partitions")
                return c.elect_leaders(args["election_type"], [tuple(p) for p in parts] if parts is not None else None)
            if op == "AllocateProducerIds":
                return c.allocate_producer_ids(args["node_id"])
            if op == "DescribeTopicConfigs":
                return c.describe_topic_configs(args["name"])
            if op == "AlterClientQuotas":
                return c.alter_client_quotas(args["entries"], args.get("validate_only", False))
            if op == "DescribeClientQuotas":
                return c.describe_client_quotas(args["components"], args.get("strict", False))
            if op == "AlterUserScramCredentials":
                return c.alter_scram_credentials(args["deletions"], args["upsertions"])
            if op == "DescribeUserScramCredentials":
                return c.describe_scram_credentials(args.get("users"))
            if op == "Status":
                return self.describe()
            if op == "KillBroker":
                self.kill_broker(args["node_id"])
                return {}
            if op == "StopBroker":
                await self.stop_broker(args["node_id"])
                return {}
            if op == "StartBroker":
                await self.start_broker(args["node_id"])
                return {}
            if op == "InjectFault":
                target = next((s for s in self.sessions if s.node_id == args["node_id"]), None)
                if target is None:
                    raise RpcError(8, f"broker {args['node_id']} is not running")  # BROKER_NOT_AVAILABLE
                target.push({"push": "fault", **args})
                return {}
            if op == "WaitReady":
                await asyncio.wait_for(self.ready.wait(), args.get("timeout_s", 30))
                return self.describe()
            if op == "WatchOwner":
                pid = int(args["pid"])
                if pid not in self.owner_pids:
                    self.owner_pids.add(pid)
                    self._watch_owner(pid)
                    self._write_description()
                return {}
            if op == "Shutdown":
                self.stopping.set()
                return {}
        except ControllerError as exc:
            raise RpcError(int(exc.code), exc.message) from exc
        except KeyError as exc:
            raise RpcError(42, f"missing or unknown argument {exc}") from exc
        raise RpcError(35, f"unknown operation {op}")


def main() -> None:
    """`python -m partita.engine.cluster.supervisor CLUSTER_DIR [OWNER_PID ...]` (the launcher
    starts it); the cluster stops when any owner process ends."""
    cluster_dir = Path(sys.argv[1])
    owner_pids = tuple(int(pid) for pid in sys.argv[2:])
    spec = layout.ClusterSpec.from_json(layout.read_json(layout.spec_path(cluster_dir)))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervisor %(levelname)s %(name)s: %(message)s")

    async def run():
        supervisor = Supervisor(cluster_dir, spec, owner_pids)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, supervisor.stopping.set)
        loop.add_signal_handler(signal.SIGINT, supervisor.stopping.set)
        await supervisor.run()

    if hasattr(asyncio, "PidfdChildWatcher") and hasattr(os, "pidfd_open"):
        # A pidfd in the event loop tells of a broker's exit at once; the default watcher
        # waits in a thread and hops back to the loop, which costs milliseconds under load.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            asyncio.set_child_watcher(asyncio.PidfdChildWatcher())
    asyncio.run(run())


if __name__ == "__main__":
    main()
