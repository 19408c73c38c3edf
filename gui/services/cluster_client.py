"""Reads a Kafka cluster into a ClusterSnapshot.

Two halves: `KafkaReader` talks to the cluster and returns what it said as plain
data (`RawCluster`); `assemble` turns that into a snapshot. A generated RawCluster
(the scale bench) goes through the same `assemble`, poller, bridge and views as a
live one.

Requests per refresh, batched so that they grow with brokers and groups and never
with partitions:
  DescribeCluster 1 · Metadata 1 · DescribeConfigs 1 (topics not seen yet; all every
  `config_every` refreshes) · ListOffsets 2 per leader broker (earliest, latest) ·
  DescribeLogDirs 1 per broker · DescribeQuorum 1 (KRaft) · ListGroups 1 per broker · FindCoordinator 1 per batch
  · DescribeGroups 1 per coordinator · OffsetFetch 1 per coordinator (v8 batches
  groups; older brokers: 1 per group) · ListPartitionReassignments 1.
confluent-kafka's AdminClient covers cluster, metadata, configs and offsets;
kafka-python's admin client covers log dirs (confluent has none) and groups (it
batches DescribeGroups and OffsetFetch per coordinator where librdkafka sends one
request per group).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from partita.gui.domain.snapshot import (
    NO_LEADER,
    Broker,
    ClusterSnapshot,
    CommittedOffset,
    Group,
    GroupMember,
    LogDir,
    Partition,
    Reassignment,
    Topic,
    ZooKeeperState,
)

from .settings import ConnectionSettings, confluent_config, kafka_python_config
from .zookeeper import ZooKeeperReader

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 10.0
CLASSIC_GROUP, CONSUMER_GROUP = "classic", "consumer"  # ListGroups v5's group types (KIP-848)
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state", "__share_group_state"})


class ClusterUnreachable(Exception):
    """The cluster did not answer the requests a snapshot cannot do without."""


# -- what the cluster said ---------------------------------------------------------------------


@dataclass
class RawLogDir:
    path: str
    error: str | None
    partition_sizes: dict[tuple[str, int], int]
    # replicas being moved into this dir from another of the broker's dirs: bytes copied so far
    future_sizes: dict[tuple[str, int], int] = field(default_factory=dict)


@dataclass
class RawGroup:
    group_id: str
    state: str
    protocol_type: str = ""
    protocol: str = ""
    coordinator: int | None = None
    # (member_id, group_instance_id, client_id, host, [(topic, partition)])
    members: list[tuple[str, str | None, str, str, list[tuple[str, int]]]] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    error: str | None = None
    group_type: str = "classic"


@dataclass
class RawCluster:
    bootstrap: str
    cluster_id: str | None
    controller_id: int | None
    nodes: list[tuple[int, str, int, str | None]]  # id, host, port, rack
    # topic -> partition -> (leader, replicas, isr, offline replicas)
    topics: dict[str, dict[int, tuple[int, list[int], list[int], list[int]]]]
    min_isr: dict[str, int] = field(default_factory=dict)
    start_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    end_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    log_dirs: dict[int, list[RawLogDir]] | None = None
    groups: list[RawGroup] | None = None
    kafka_version: str | None = None
    warnings: list[str] = field(default_factory=list)
    topic_ids: dict[str, str] = field(default_factory=dict)
    # brokers the cluster has registered but does not list as live (fenced, or just died)
    registered: list[tuple[int, str, int, str | None]] = field(default_factory=list)
    # live brokers the console's own requests could not reach this refresh
    unreachable: list[int] = field(default_factory=list)
    # partition reassignments in progress: (topic, partition) -> (replicas, adding, removing)
    reassignments: dict[tuple[str, int], tuple[list[int], list[int], list[int]]] = field(default_factory=dict)
    zookeeper: ZooKeeperState | None = None  # when the connection names the cluster's ZooKeeper


# -- raw → snapshot ----------------------------------------------------------------------------


def assemble(
    raw: RawCluster,
    *,
    taken_at: float,
    known_brokers: dict[int, Broker] | None = None,
    refresh_seconds: float = 0.0,
    requests: int | None = None,
) -> ClusterSnapshot:
    """Build a snapshot. Brokers seen before but absent now are kept, marked down, with their
    last address and rack; replicas on brokers never seen appear as down brokers too."""
    known = dict(known_brokers or {})
    # partition sizes: the leader's replica if reported, else the largest replica
    sizes_by_broker: dict[int, dict[tuple[str, int], int]] = {}
    broker_dirs: dict[int, tuple[LogDir, ...]] = {}
    if raw.log_dirs is not None:
        for node, dirs in raw.log_dirs.items():
            per: dict[tuple[str, int], int] = {}
            out = []
            for d in dirs:
                total = sum(d.partition_sizes.values())
                out.append(LogDir(d.path, total if d.error is None else -1, d.error,
                                  tuple(sorted((t, p, size) for (t, p), size in d.future_sizes.items()))))
                # a replica is in one log dir of a broker; while it moves to another, the copy
                # there is a future replica (moving_in), not counted as its size
                per.update(d.partition_sizes)
            sizes_by_broker[node] = per
            broker_dirs[node] = tuple(out)

    alive_ids = set()
    brokers: dict[int, Broker] = {}
    unreachable = set(raw.unreachable)
    for node_id, host, port, rack in raw.nodes:
        alive_ids.add(node_id)
        brokers[node_id] = Broker(
            node_id, host, port, rack, True, broker_dirs.get(node_id, ()), node_id not in unreachable
        )
    for node_id, b in known.items():
        if node_id not in brokers:
            brokers[node_id] = Broker(node_id, b.host, b.port, b.rack, False, ())
    for node_id, host, port, rack in raw.registered:
        if node_id not in brokers:
            brokers[node_id] = Broker(node_id, host, port, rack, False, ())

    topics = []
    # replica lists repeat across thousands of partitions: one tuple per distinct list, shared
    shared: dict[tuple, tuple] = {}
    start_offsets, end_offsets = raw.start_offsets, raw.end_offsets
    for name in sorted(raw.topics):
        parts = []
        for pid, (leader, replicas, isr, offline) in sorted(raw.topics[name].items()):
            key = (name, pid)
            size = None
            if sizes_by_broker:
                on_leader = sizes_by_broker.get(leader, {}).get(key)
                if on_leader is not None:
                    size = on_leader
                else:
                    vals = [s[key] for s in sizes_by_broker.values() if key in s]
                    size = max(vals) if vals else None
            replicas = tuple(replicas)
            same = shared.get(replicas)
            if same is None:
                same = shared[replicas] = replicas
                for r in replicas:
                    if r not in brokers:
                        brokers[r] = Broker(r, "?", 0, None, False, ())
            isr, offline = tuple(isr), tuple(offline)
            parts.append(
                Partition(
                    name,
                    pid,
                    leader if leader is not None else NO_LEADER,
                    same,
                    shared.setdefault(isr, isr),
                    shared.setdefault(offline, offline),
                    start_offsets.get(key),
                    end_offsets.get(key),
                    size,
                )
            )
        topics.append(
            Topic(
                name,
                tuple(parts),
                internal=name in INTERNAL_TOPICS,
                min_insync_replicas=raw.min_isr.get(name),
                topic_id=raw.topic_ids.get(name),
            )
        )

    groups = []
    make_offset = CommittedOffset._make
    for g in sorted(raw.groups or (), key=lambda g: g.group_id):
        members = tuple(
            GroupMember(mid, cid, host, inst, tuple(sorted(assign)))
            for mid, inst, cid, host, assign in g.members
        )
        # 100,000 of these at scale: made by the tuple constructor, without a Python call each
        offsets = tuple(map(make_offset, [(t, p, o) for (t, p), o in sorted(g.offsets.items())]))
        groups.append(Group(g.group_id, g.state, g.protocol_type, g.protocol, g.coordinator, members, offsets, g.error,
                            g.group_type))

    return ClusterSnapshot(
        taken_at=taken_at,
        bootstrap=raw.bootstrap,
        cluster_id=raw.cluster_id,
        controller_id=raw.controller_id,
        brokers=tuple(sorted(brokers.values(), key=lambda b: b.node_id)),
        topics=tuple(topics),
        groups=tuple(groups),
        kafka_version=raw.kafka_version,
        warnings=tuple(raw.warnings),
        refresh_seconds=refresh_seconds,
        requests=requests,
        reassignments=tuple(
            Reassignment(t, p, tuple(replicas), tuple(adding), tuple(removing))
            for (t, p), (replicas, adding, removing) in sorted(raw.reassignments.items())
        ),
        zookeeper=raw.zookeeper,
    )


# -- talking to Kafka --------------------------------------------------------------------------


class RequestCounter:
    """Counts requests the kafka-python client sends, and librdkafka's from its statistics."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.kafka_python = 0
        self._rdkafka_tx: int | None = None

    def add(self, n: int = 1) -> None:
        with self._lock:
            self.kafka_python += n

    def on_stats(self, stats_json: str) -> None:
        import json

        try:
            stats = json.loads(stats_json)
            tx = sum(b.get("tx", 0) for b in stats.get("brokers", {}).values())
        except (ValueError, AttributeError):
            return
        with self._lock:
            self._rdkafka_tx = tx

    @property
    def rdkafka(self) -> int | None:
        with self._lock:
            return self._rdkafka_tx


class KafkaReader:
    """One cluster connection: confluent-kafka AdminClient plus kafka-python's admin client."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        timeout: float = REQUEST_TIMEOUT_S,
        config_every: int = 12,
        with_log_dirs: bool = True,
        with_groups: bool = True,
        count_requests: bool = False,
    ) -> None:
        settings.validate()
        self.settings = settings
        self.timeout = timeout
        self.config_every = config_every
        self.with_log_dirs = with_log_dirs
        self.with_groups = with_groups
        self.counter = RequestCounter()
        self._count = count_requests
        self._admin = None
        self._kp = None
        self._kp_failed_at = 0.0
        self._min_isr: dict[str, int] = {}
        self._refreshes = 0
        self._version: str | None = None
        self._quorum_ok: bool | None = None
        self._racks: dict[int, str | None] = {}
        self._registered: list[tuple[int, str, int, str | None]] = []
        self._unreachable: set[int] = set()
        self._last_groups: list[RawGroup] | None = None
        self._auth_error: str | None = None  # librdkafka's last authentication error, from error_cb
        self._all_brokers_down = False  # librdkafka said so (error_cb) since this refresh began
        self._reassignments_ok: bool | None = None  # None: not asked yet
        self._zookeeper = ZooKeeperReader(settings.zookeeper, timeout) if settings.zookeeper else None

    # connections are made lazily, on the poller's thread

    def _on_error(self, err) -> None:
        # librdkafka reports a rejected password only here (and only from poll()); a Metadata
        # request to that broker just fails with "transport failure" or times out
        from confluent_kafka import KafkaError

        from .connection_test import _is_auth

        if _is_auth(err):
            self._auth_error = err.str()
        elif err.code() == KafkaError._ALL_BROKERS_DOWN:
            self._all_brokers_down = True

    def _confluent(self):
        if self._admin is None:
            from confluent_kafka.admin import AdminClient

            extra: dict = {"error_cb": self._on_error}
            if self._count:
                extra.update({"statistics.interval.ms": 200, "stats_cb": self.counter.on_stats})
            self._admin = AdminClient(confluent_config(self.settings, **extra))
        return self._admin

    def _raise_if_authentication_failed(self, admin, cause: BaseException) -> None:
        admin.poll(0)
        if self._auth_error:
            raise ClusterUnreachable(f"Authentication failed: {self._auth_error}") from cause

    def _raise_if_all_brokers_down(self, cause: BaseException) -> None:
        # every broker refused or dropped its connection: a second try would only wait out its
        # timeout as well, and the operator would learn of the outage that much later
        # (error_cb was served just before, by _raise_if_authentication_failed's poll)
        if self._all_brokers_down:
            raise ClusterUnreachable(f"{_reason(cause)} (all brokers are down)") from cause

    def _kafka_python(self):
        if self._kp is None:
            if time.monotonic() - self._kp_failed_at < 10:
                return None
            try:
                from kafka.admin import KafkaAdminClient

                kp = KafkaAdminClient(**kafka_python_config(self.settings, request_timeout_ms=int(self.timeout * 1000)))
            except Exception as e:  # NoBrokersAvailable and friends: retry on a later refresh
                self._kp_failed_at = time.monotonic()
                log.info("kafka-python admin client unavailable: %s", e)
                return None
            if self._count:
                manager = kp._manager
                send = manager.send
                counter = self.counter

                def counting_send(*a, **kw):
                    counter.add()
                    return send(*a, **kw)

                manager.send = counting_send
            self._kp = kp
        return self._kp

    def close(self) -> None:
        if self._zookeeper is not None:
            self._zookeeper.close()
        kp, self._kp, self._admin = self._kp, None, None
        if kp is not None:
            try:
                kp.close()
            except Exception:
                pass

    # one refresh

    def read(self) -> RawCluster:
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import ConfigResource, OffsetSpec, ResourceType

        admin = self._confluent()
        self._auth_error = None
        admin.poll(0)  # serve error_cb: the errors queued since the last refresh
        self._all_brokers_down = False  # but only an outage seen during this refresh counts
        t = self.timeout
        try:
            # Metadata goes to any broker. (DescribeCluster through librdkafka goes to the controller,
            # which a KRaft cluster names at random among its brokers: when that broker is dead,
            # librdkafka waits for it instead of asking another.)
            try:
                md = admin.list_topics(timeout=min(t, 3.0))
            except Exception as first:
                # a request in flight to a broker that just died can time out although the others
                # answer: one more try, which librdkafka sends to a broker it can still reach;
                # a refused password stays refused, so that is said at once
                self._raise_if_authentication_failed(admin, first)
                self._raise_if_all_brokers_down(first)
                md = admin.list_topics(timeout=t)
        except Exception as e:
            self._raise_if_authentication_failed(admin, e)
            raise ClusterUnreachable(_reason(e)) from e
        self._refreshes += 1
        self._unreachable = set()
        warnings: list[str] = []
        kp = self._kafka_python()
        if kp is not None:
            self._read_racks(kp)
        nodes = [(b.id, b.host, b.port, self._racks.get(b.id)) for b in md.brokers.values()]
        alive = {n[0] for n in nodes}
        controller = md.controller_id if md.controller_id is not None and md.controller_id >= 0 else None

        topics: dict[str, dict[int, tuple[int, list[int], list[int], list[int]]]] = {}
        for name, tm in md.topics.items():
            if tm.error is not None and not tm.partitions:
                warnings.append(f"topic {name}: {tm.error.str()}")
                continue
            topics[name] = {
                pid: (pm.leader, list(pm.replicas), list(pm.isrs), [r for r in pm.replicas if r not in alive])
                for pid, pm in tm.partitions.items()
            }

        # min.insync.replicas: one DescribeConfigs for topics not seen yet, all now and then
        if self._refreshes % self.config_every == 1:
            wanted = list(topics)
        else:
            wanted = [n for n in topics if n not in self._min_isr]
        if wanted:
            try:
                futures = admin.describe_configs(
                    [ConfigResource(ResourceType.TOPIC, n) for n in wanted], request_timeout=t
                )
                for res, fut in futures.items():
                    try:
                        entry = fut.result(timeout=t + 1).get("min.insync.replicas")
                        if entry is not None and entry.value is not None:
                            self._min_isr[res.name] = int(entry.value)
                    except Exception as e:
                        warnings.append(f"configs of {res.name}: {_reason(e)}")
            except Exception as e:
                warnings.append(f"topic configs: {_reason(e)}")
        for gone in set(self._min_isr) - set(topics):
            del self._min_isr[gone]

        # offsets: one batched call per spec; librdkafka sends one ListOffsets per leader
        tps = [
            TopicPartition(name, pid)
            for name, parts in topics.items()
            for pid, (leader, *_rest) in parts.items()
            if leader in alive
        ]
        start, end = {}, {}
        if tps:
            for spec, out in ((OffsetSpec.earliest(), start), (OffsetSpec.latest(), end)):
                try:
                    futures = admin.list_offsets({tp: spec for tp in tps}, request_timeout=t)
                except Exception as e:
                    warnings.append(f"offsets: {_reason(e)}")
                    continue
                failed = 0
                for tp, fut in futures.items():
                    try:
                        out[(tp.topic, tp.partition)] = fut.result(timeout=t + 1).offset
                    except Exception:
                        failed += 1
                if failed:
                    warnings.append(f"offsets unavailable for {failed} partitions")

        log_dirs = None
        if self.with_log_dirs and kp is not None:
            log_dirs = self._read_log_dirs(kp, alive, warnings)
        groups = None
        if self.with_groups:
            if kp is not None:
                groups = self._read_groups(kp, alive, warnings)
            else:
                warnings.append("consumer groups: admin client not connected yet")
        if self._version is None and kp is not None:
            self._version = self._read_version(kp, alive)
        if kp is not None and self._quorum_ok is not False:
            # in KRaft, Metadata names a random broker as controller; the quorum leader is the real one
            try:
                q = kp.describe_metadata_quorum()
                leader = q["topics"][0]["partitions"][0]["leader_id"]
                if leader is not None and leader >= 0:
                    controller = leader
                self._quorum_ok = True
            except Exception:
                if self._quorum_ok is None:
                    self._quorum_ok = False  # ZooKeeper-era cluster or a broker without DescribeQuorum

        reassignments = {}
        if kp is not None and self._reassignments_ok is not False:
            try:  # to the controller; Kafka < 2.4 has no such request
                listed = kp.list_partition_reassignments(timeout_ms=int(t * 1000))
                reassignments = {(tp.topic, tp.partition): (r["replicas"], r["adding_replicas"], r["removing_replicas"])
                                 for tp, r in listed.items()}
                self._reassignments_ok = True
            except Exception as e:
                if self._reassignments_ok is None and type(e).__name__ in (
                        "UnsupportedVersionError", "IncompatibleBrokerVersion"):
                    self._reassignments_ok = False
                else:
                    warnings.append(f"reassignments in progress: {_reason(e)}")

        return RawCluster(
            bootstrap=self.settings.bootstrap,
            cluster_id=md.cluster_id,
            controller_id=controller,
            nodes=nodes,
            topics=topics,
            min_isr=dict(self._min_isr),
            start_offsets=start,
            end_offsets=end,
            log_dirs=log_dirs,
            groups=groups,
            kafka_version=self._version,
            warnings=warnings,
            registered=[r for r in self._registered if r[0] not in alive],
            unreachable=sorted(self._unreachable & alive),
            reassignments=reassignments,
            zookeeper=self._zookeeper.read() if self._zookeeper is not None else None,
        )

    def _read_racks(self, kp) -> None:
        try:
            desc = kp.describe_cluster()  # DescribeCluster, to any broker, fenced brokers included
            brokers = desc.get("brokers", ())
            self._racks.update({b["broker_id"]: b.get("rack") or None for b in brokers})
            self._registered = [(b["broker_id"], b["host"], b["port"], b.get("rack") or None) for b in brokers]
            return
        except Exception:
            pass
        try:  # older brokers: the racks in kafka-python's own metadata
            for b in kp._manager.cluster.brokers():
                self._racks[b.nodeId] = getattr(b, "rack", None) or None
        except Exception:
            pass

    def _read_log_dirs(self, kp, alive: set[int], warnings: list[str]) -> dict[int, list[RawLogDir]] | None:
        out: dict[int, list[RawLogDir]] = {}
        for node in sorted(alive):
            try:
                [resp] = kp.describe_log_dirs(brokers=[node])
            except Exception as e:
                warnings.append(f"log dirs of broker {node}: {_reason(e)}")
                if _is_connection_error(e):
                    self._unreachable.add(node)
                continue
            dirs = []
            for d in resp["log_dirs"]:
                sizes: dict[tuple[str, int], int] = {}
                futures: dict[tuple[str, int], int] = {}
                for tp in d.get("topics", ()):
                    for p in tp.get("partitions", ()):
                        into = futures if p.get("is_future_key") else sizes
                        into[(tp["name"], p["partition_index"])] = p["partition_size"]
                err = d.get("error_code", 0)
                dirs.append(RawLogDir(d["log_dir"], None if not err else f"error {err}", sizes, futures))
            out[node] = dirs
        return out

    def _read_groups(self, kp, alive: set[int], warnings: list[str]) -> list[RawGroup] | None:
        listed = []
        failed = []
        for node in sorted(alive):  # each broker lists the groups it coordinates
            try:
                listed.extend(kp.list_groups(broker_ids=[node]))
            except Exception as e:
                failed.append(node)
                if _is_connection_error(e):
                    self._unreachable.add(node)
        if failed and len(failed) == len(alive):
            warnings.append("consumer groups: no broker answered ListGroups; showing the last known groups")
            return self._last_groups
        if failed:
            warnings.append(f"consumer groups: brokers {failed} did not answer ListGroups")
        groups = self._read_group_details(kp, listed, warnings)
        self._last_groups = groups
        return groups

    def _read_group_details(self, kp, listed: list[dict], warnings: list[str]) -> list[RawGroup]:
        ids = [g["group_id"] for g in listed if g.get("protocol_type", "consumer") in ("consumer", "")]
        if not ids:
            return []
        groups = {
            g["group_id"]: RawGroup(g["group_id"], g.get("group_state") or "Unknown", g.get("protocol_type") or "",
                                    group_type=(g.get("group_type") or CLASSIC_GROUP).lower())
            for g in listed
            if g["group_id"] in ids
        }
        try:
            coordinators = kp._manager.run(kp._find_coordinator_ids, ids)
        except Exception:
            coordinators = {}
        for gid, node in coordinators.items():
            if gid in groups:
                groups[gid].coordinator = node
        # DescribeGroups describes classic groups only: Kafka 4 answers it for a KIP-848 group with
        # GROUP_ID_NOT_FOUND ("not a classic group"); those are described by ConsumerGroupDescribe
        classic = [gid for gid in ids if groups[gid].group_type != CONSUMER_GROUP]
        assigned_by_broker = [gid for gid in ids if groups[gid].group_type == CONSUMER_GROUP]
        if classic:
            self._describe_classic_groups(kp, groups, classic, warnings)
        if assigned_by_broker:
            self._describe_consumer_groups(groups, assigned_by_broker, warnings)
        try:
            offsets = _chunked(kp.list_group_offsets, ids)
        except Exception:
            # one bad group fails a whole batch: fall back to one group at a time
            offsets = {}
            for gid in ids:
                try:
                    offsets.update(kp.list_group_offsets([gid]))
                except Exception as e:
                    groups[gid].error = _reason(e)
        for gid, tps in offsets.items():
            if gid in groups:
                groups[gid].offsets = {(tp.topic, tp.partition): om.offset for tp, om in tps.items() if om.offset >= 0}
        return list(groups.values())

    def _describe_classic_groups(self, kp, groups: dict[str, RawGroup], ids: list[str], warnings: list[str]) -> None:
        try:
            described = _chunked(kp.describe_groups, ids)
        except Exception as e:
            warnings.append(f"describe groups: {_reason(e)}")
            described = {}
        for gid, d in described.items():
            g = groups.get(gid)
            if g is None:
                continue
            g.state = d.get("group_state") or g.state
            g.protocol_type = d.get("protocol_type") or g.protocol_type
            g.protocol = d.get("protocol_data") or ""
            for m in d.get("members", ()):
                assign = m.get("member_assignment") or {}
                tps = [
                    (a["topic"], p) for a in (assign.get("assigned_partitions") or ()) for p in a.get("partitions", ())
                ]
                g.members.append((m["member_id"], m.get("group_instance_id"), m.get("client_id", ""), m.get("client_host", ""), tps))
            if d.get("error"):
                g.error = str(d["error"])

    def _describe_consumer_groups(self, groups: dict[str, RawGroup], ids: list[str], warnings: list[str]) -> None:
        """KIP-848 groups, through confluent-kafka's describe_consumer_groups (ConsumerGroupDescribe;
        kafka-python has no such request): the state, the broker-side assignor and each member's
        current assignment."""
        t = self.timeout
        try:
            futures = self._confluent().describe_consumer_groups(ids, request_timeout=t)
        except Exception as e:
            warnings.append(f"describe consumer groups: {_reason(e)}")
            return
        for gid, future in futures.items():
            g = groups[gid]
            try:
                d = future.result(timeout=t + 1)
            except Exception as e:
                g.error = _reason(e)
                continue
            g.state = _state_name(d.state) or g.state
            g.protocol = d.partition_assignor or ""
            if d.coordinator is not None and d.coordinator.id >= 0:
                g.coordinator = d.coordinator.id
            for m in d.members:
                tps = [(tp.topic, tp.partition) for tp in (m.assignment.topic_partitions if m.assignment else ())]
                g.members.append((m.member_id, m.group_instance_id, m.client_id or "", m.host or "", tps))

    def _read_version(self, kp, alive: set[int]) -> str | None:
        for node in sorted(alive):
            try:
                v = kp.get_broker_version_data(node).broker_version
                return ".".join(map(str, v)) + "+" if v else None
            except Exception:
                continue
        return None


def _is_connection_error(e: BaseException) -> bool:
    name = type(e).__name__
    return name in ("KafkaConnectionError", "NodeNotReadyError", "ConnectionError", "ConnectionRefusedError") or (
        "ECONNREFUSED" in str(e) or "onnection refused" in str(e)
    )


def _state_name(state) -> str | None:
    """confluent-kafka's ConsumerGroupState.RECONCILING as Kafka spells it in ListGroups: Reconciling."""
    name = getattr(state, "name", None)
    if not name or name == "UNKNOWN":
        return None
    return "".join(part.title() for part in name.split("_"))


def _chunked(call, ids: list[str], size: int = 1000) -> dict:
    out: dict = {}
    for i in range(0, len(ids), size):
        out.update(call(ids[i : i + size]))
    return out


def _reason(e: BaseException) -> str:
    try:
        from confluent_kafka import KafkaException

        if isinstance(e, KafkaException) and e.args:
            err = e.args[0]
            if hasattr(err, "str"):
                return err.str()
    except ImportError:  # pragma: no cover
        pass
    return str(e) or type(e).__name__


class ClusterClient:
    """Reads a cluster into snapshots, remembering brokers that have gone down."""

    def __init__(self, reader, clock=time.time) -> None:
        self.reader = reader
        self.clock = clock
        self._known: dict[int, Broker] = {}

    def snapshot(self) -> ClusterSnapshot:
        t0 = time.perf_counter()
        raw = self.reader.read()
        snap = assemble(
            raw,
            taken_at=self.clock(),
            known_brokers=self._known,
            refresh_seconds=time.perf_counter() - t0,
        )
        self._known = {b.node_id: b for b in snap.brokers if b.host != "?"}
        return snap

    def close(self) -> None:
        close = getattr(self.reader, "close", None)
        if close:
            close()


@dataclass(frozen=True)
class KafkaClientFactory:
    """Makes the ClusterClient for a connection profile in the builder process. Picklable (the
    client itself, with its sockets and threads, is not); it carries the profile's secrets to the
    builder process over the socket that starts it, never through a file or a command line."""

    settings: ConnectionSettings
    timeout: float = REQUEST_TIMEOUT_S

    def __call__(self) -> ClusterClient:
        return ClusterClient(KafkaReader(self.settings, timeout=self.timeout))
