"""The classic group protocol over every group this broker coordinates, as Kafka runs it.

Behaviour follows Kafka's GroupMetadataManager for classic groups:
- JoinGroup: a new dynamic member on v4+ first gets MEMBER_ID_REQUIRED with its id; a
  static member (group.instance.id) rejoining with an unknown id replaces its old id (no
  rebalance when the group is Stable and the chosen protocol stays the same); the first
  rebalance of an empty group waits group.initial.rebalance.delay.ms, extended while new
  members keep arriving (up to the rebalance timeout); later rebalances complete when all
  members have rejoined or the rebalance timeout passes (members that did not rejoin are
  dropped); the protocol is chosen by the members' votes among those all support.
- SyncGroup: the leader's assignments are written to the log before anyone gets theirs;
  members that do not sync within the rebalance timeout are removed.
- Sessions: each member has a timer; heartbeats, commits and joins push it back.
- Offsets: commits are applied once their record is replicated (acks=all); generation -1
  commits are accepted for empty groups (admin client, assign()-based consumers).
- Transactional offsets (TxnOffsetCommit): written as a transactional batch with the
  producer's id and epoch, held pending until the transaction's marker reaches the group's
  partition (`complete_txn`): a commit applies them where no later write (by log position)
  has, an abort drops them. OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT
  for a partition with offsets pending. Loading replays the same rule.
Every change a coordinator must survive is a record in the group's partition of
`__consumer_offsets`, written through `store` (see coordinator.LogStore); a coordinator
that takes over replays them (`begin_load` / `replay` / `finish_load`).

All state lives in the event loop and is mutated only here, between awaits; the awaits
are the writes, after which the state is checked again (the group may have moved on).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from partita.engine.groups import records as rec
from partita.engine.groups.consumer_protocol import ConsumerGroup, ConsumerProtocol
from partita.engine.groups.hashing import OFFSETS_TOPIC, partition_for
from partita.engine.groups.state import (
    Group,
    GroupState,
    JoinResult,
    Member,
    OffsetAndMetadata,
    SyncResult,
)
from partita.engine.protocol.errors import ErrorCode, KafkaError

log = logging.getLogger(__name__)

E = ErrorCode
Records = list[tuple[bytes, bytes | None]]


def wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class GroupConfig:
    initial_rebalance_delay_ms: int = 3000
    min_session_timeout_ms: int = 6000
    max_session_timeout_ms: int = 1800000
    max_size: int = 2**31 - 1
    new_member_join_timeout_ms: int = 300000
    offset_metadata_max_bytes: int = 4096
    offsets_retention_ms: int = 7 * 24 * 3600 * 1000
    offsets_retention_check_interval_ms: int = 600000
    commit_timeout_ms: int = 5000
    consumer_heartbeat_interval_ms: int = 5000
    consumer_session_timeout_ms: int = 45000
    consumer_max_size: int = 2**31 - 1
    consumer_assignors: tuple[str, ...] = ("uniform", "range")

    @classmethod
    def from_settings(cls, setting: Callable[[str, str], str]) -> GroupConfig:
        d = cls()

        def num(name: str, default: int) -> int:
            try:
                return int(setting(name, str(default)))
            except (TypeError, ValueError):
                return default

        return cls(
            initial_rebalance_delay_ms=num("group.initial.rebalance.delay.ms", d.initial_rebalance_delay_ms),
            min_session_timeout_ms=num("group.min.session.timeout.ms", d.min_session_timeout_ms),
            max_session_timeout_ms=num("group.max.session.timeout.ms", d.max_session_timeout_ms),
            max_size=num("group.max.size", d.max_size),
            offset_metadata_max_bytes=num("offset.metadata.max.bytes", d.offset_metadata_max_bytes),
            offsets_retention_ms=num("offsets.retention.minutes", 10080) * 60000,
            offsets_retention_check_interval_ms=num("offsets.retention.check.interval.ms",
                                                    d.offsets_retention_check_interval_ms),
            commit_timeout_ms=num("offsets.commit.timeout.ms", d.commit_timeout_ms),
            consumer_heartbeat_interval_ms=num("group.consumer.heartbeat.interval.ms",
                                               d.consumer_heartbeat_interval_ms),
            consumer_session_timeout_ms=num("group.consumer.session.timeout.ms", d.consumer_session_timeout_ms),
            consumer_max_size=num("group.consumer.max.size", d.consumer_max_size),
            consumer_assignors=_assignors(setting("group.consumer.assignors", ",".join(d.consumer_assignors))),
        )


def _assignors(value: str) -> tuple[str, ...]:
    """group.consumer.assignors: names (or Kafka's class names) of the server assignors, the
    first the default; the engine knows "uniform" and "range"."""
    known = {"org.apache.kafka.coordinator.group.assignor.UniformAssignor": "uniform",
             "org.apache.kafka.coordinator.group.assignor.RangeAssignor": "range"}
    names = [known.get(n.strip(), n.strip().lower()) for n in (value or "").split(",") if n.strip()]
    names = [n for n in names if n in ("uniform", "range")]
    return tuple(dict.fromkeys(names)) or ("uniform", "range")


class Store(Protocol):
    def append(self, partition: int, records: Records, timeout_ms: int) -> Awaitable[int]:
        """Write the records as one batch at once (log order = call order); the awaitable
        resolves with the first record's offset when replicated, or raises KafkaError
        (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, ...)."""


LOADING = "loading"
ACTIVE = "active"


class _Loader:
    """What replaying one partition has found so far: the latest value per key."""

    def __init__(self) -> None:
        self.offsets: dict[str, dict[tuple[str, int], OffsetAndMetadata]] = {}
        self.groups: dict[str, rec.GroupMetadataValue] = {}
        self.pending: TxnOffsets = {}  # transactional offsets whose marker has not been read yet


@dataclass(slots=True)
class GroupSummary:
    group_id: str
    state: str
    protocol_type: str
    protocol_data: str
    members: tuple[tuple[str, str | None, str, str, bytes, bytes], ...]  # id, instance, client, host, md, assignment
    not_found: str | None = None  # why a Dead group is not found (DescribeGroups v6+), if not simply unknown


# producer id -> group id -> (topic, partition) -> offset: transactional commits awaiting their marker
TxnOffsets = dict[int, dict[str, dict[tuple[str, int], OffsetAndMetadata]]]


def _merge_newer(target: dict[tuple[str, int], OffsetAndMetadata], offsets: dict[tuple[str, int], OffsetAndMetadata]
                 ) -> None:
    """Apply committed transactional offsets unless a later write (by log position) already has."""
    for key, om in offsets.items():
        existing = target.get(key)
        if existing is None or existing.record_offset < om.record_offset:
            target[key] = om


class GroupManager:
    def __init__(self, store: Store, config: GroupConfig | None = None, clock_ms: Callable[[], int] = wall_ms):
        self.store = store
        self.config = config or GroupConfig()
        self.now_ms = clock_ms
        self.groups: dict[str, Group] = {}
        self.partition_count = 0
        self.shards: dict[int, str] = {}  # __consumer_offsets partition -> LOADING / ACTIVE
        self._loaders: dict[int, _Loader] = {}
        self._tasks: set[asyncio.Task] = set()
        self.pending_txn_offsets: TxnOffsets = {}
        self.consumer = ConsumerProtocol(self)

    # ======================================================================================
    # coordination: which groups are ours
    # ======================================================================================

    def partition_of(self, group_id: str) -> int:
        return partition_for(group_id, self.partition_count)

    def check(self, group_id: str) -> ErrorCode:
        """NONE when this broker coordinates `group_id` and has loaded it."""
        if self.partition_count <= 0:
            return E.coordinator_not_available
        status = self.shards.get(self.partition_of(group_id))
        if status is None:
            return E.not_coordinator
        if status == LOADING:
            return E.coordinator_load_in_progress
        return E.none

    def begin_load(self, partition: int) -> None:
        self.shards[partition] = LOADING
        self._loaders[partition] = _Loader()

    def replay(self, partition: int, key: bytes, value: bytes | None, offset: int, producer_id: int = -1) -> None:
        """Apply one record of `__consumer_offsets` partition `partition` while loading it;
        a transactional offset commit comes with its producer id and waits for its marker."""
        loader = self._loaders[partition]
        try:
            k = rec.decode_key(key)
            if isinstance(k, rec.OffsetCommitKey) and producer_id >= 0:
                if value is not None:
                    v = rec.decode_offset_commit_value(value)
                    loader.pending.setdefault(producer_id, {}).setdefault(k.group, {})[(k.topic, k.partition)] = (
                        OffsetAndMetadata(v.offset, v.leader_epoch, v.metadata, v.commit_timestamp,
                                          v.expire_timestamp, offset))
            elif isinstance(k, rec.OffsetCommitKey):
                by_group = loader.offsets.setdefault(k.group, {})
                if value is None:
                    by_group.pop((k.topic, k.partition), None)
                else:
                    v = rec.decode_offset_commit_value(value)
                    by_group[(k.topic, k.partition)] = OffsetAndMetadata(
                        v.offset, v.leader_epoch, v.metadata, v.commit_timestamp, v.expire_timestamp, offset)
            elif isinstance(k, rec.GroupMetadataKey):
                if value is None:
                    loader.groups.pop(k.group, None)
                else:
                    loader.groups[k.group] = rec.decode_group_metadata_value(value)
        except rec.RecordFormatError as exc:
            log.warning("skipping unreadable record at %s-%d offset %d: %s", "__consumer_offsets", partition, offset, exc)

    def replay_marker(self, partition: int, producer_id: int, committed: bool) -> None:
        """A transaction marker read while loading: its pending offsets apply or vanish."""
        by_group = self._loaders[partition].pending.pop(producer_id, {})
        if committed:
            loader = self._loaders[partition]
            for group_id, offsets in by_group.items():
                _merge_newer(loader.offsets.setdefault(group_id, {}), offsets)

    def finish_load(self, partition: int) -> None:
        loader = self._loaders.pop(partition, None)
        if loader is None or self.shards.get(partition) != LOADING:
            return
        for producer_id, by_group in loader.pending.items():  # transactions still open: their marker will come
            self.pending_txn_offsets.setdefault(producer_id, {}).update(by_group)
        now = self.now_ms()
        for group_id in set(loader.groups) | {g for g, o in loader.offsets.items() if o}:
            if self.partition_of(group_id) != partition:
                continue
            value = loader.groups.get(group_id)
            group = self._group_from_record(group_id, value, now) if value is not None else Group(group_id, now)
            group.offsets = loader.offsets.get(group_id, {})
            old = self.groups.get(group_id)
            if old is not None:
                self._drop_group(old, E.not_coordinator)
            self.groups[group_id] = group
            for member in group.members.values():
                self._schedule_heartbeat(group, member, member.session_timeout_ms)
        self.shards[partition] = ACTIVE
        loaded = sum(1 for g in self.groups if self.partition_of(g) == partition)
        log.log(logging.INFO if loaded else logging.DEBUG, "loaded __consumer_offsets-%d: %d groups", partition, loaded)

    def unload(self, partition: int) -> None:
        self.shards.pop(partition, None)
        self._loaders.pop(partition, None)
        for by_group in self.pending_txn_offsets.values():
            for group_id in [g for g in by_group if self.partition_count and self.partition_of(g) == partition]:
                del by_group[group_id]
        for group_id in [g for g in self.groups if self.partition_count and self.partition_of(g) == partition]:
            self._drop_group(self.groups.pop(group_id), E.not_coordinator)

    def unload_all(self) -> None:
        for group in list(self.groups.values()):
            self._drop_group(group, E.not_coordinator)
        self.groups.clear()
        self.shards.clear()
        self._loaders.clear()
        self.pending_txn_offsets.clear()
        for task in list(self._tasks):
            task.cancel()

    def _group_from_record(self, group_id: str, value: rec.GroupMetadataValue, now: int) -> Group:
        group = Group(group_id, now)
        group.generation = value.generation
        group.protocol_type = value.protocol_type or None
        group.protocol_name = value.protocol
        group.leader_id = value.leader
        group.state_timestamp = value.current_state_timestamp if value.current_state_timestamp >= 0 else None
        for m in value.members:
            member = Member(m.member_id, m.group_instance_id, m.client_id, m.client_host, m.rebalance_timeout,
                            m.session_timeout, value.protocol_type, [(value.protocol or "", m.subscription)],
                            m.assignment)
            group.members[m.member_id] = member
            group.supported_protocols.update(member.protocol_names())
            if m.group_instance_id is not None:
                group.static_members[m.group_instance_id] = m.member_id
        group.state = GroupState.STABLE if group.members else GroupState.EMPTY
        if group.leader_id not in group.members:
            group.leader_id = next(iter(group.members), None)
        group.subscribed_topics = group.compute_subscribed_topics()
        return group

    def _drop_group(self, group: Group, error: ErrorCode) -> None:
        """The group leaves this coordinator (unload, deletion): answer whoever waits."""
        if isinstance(group, ConsumerGroup):
            self.consumer.drop(group)
            return
        for member in list(group.members.values()):
            group.complete_join(member, JoinResult(error, member.member_id))
            group.complete_sync(member, SyncResult(error))
            if member.timer is not None:
                member.timer.cancel()
                member.timer = None
        for handle in group.pending_members.values():
            if handle is not None:
                handle.cancel()
        group.pending_members.clear()
        self._cancel_join_timer(group)
        self._cancel_sync_timer(group)
        if group.state != GroupState.DEAD:
            group.previous_state, group.state = group.state, GroupState.DEAD

    def classic_group_is_empty(self, group: Group) -> bool:
        """An empty classic group (offsets only) that a consumer-protocol member may replace."""
        return group.state in (GroupState.EMPTY, GroupState.DEAD) and not group.members and not group.pending_members

    def discard_classic_group(self, group: Group) -> None:
        self._drop_group(group, E.coordinator_not_available)

    def _replace_empty_consumer_group(self, group: ConsumerGroup) -> None:
        """A classic member joins an empty consumer group: it becomes a classic group, offsets kept."""
        self.consumer.drop(group)
        classic = self.groups[group.group_id] = Group(group.group_id, self.now_ms())
        classic.offsets = group.offsets

    # ======================================================================================
    # timers
    # ======================================================================================

    @staticmethod
    def _loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def _schedule_heartbeat(self, group: Group, member: Member, timeout_ms: int) -> None:
        loop = self._loop()
        member.deadline = loop.time() + timeout_ms / 1000
        if member.timer is not None:
            if member.timer.when() <= member.deadline:
                return  # the timer fires first and re-arms itself for the later deadline
            member.timer.cancel()
        member.timer = loop.call_at(member.deadline, self._on_heartbeat_timer, group, member)

    def _on_heartbeat_timer(self, group: Group, member: Member) -> None:
        member.timer = None
        if group.members.get(member.member_id) is not member or group.state == GroupState.DEAD:
            return
        loop = self._loop()
        if loop.time() < member.deadline:
            member.timer = loop.call_at(member.deadline, self._on_heartbeat_timer, group, member)
            return
        if member.has_satisfied_heartbeat():
            return
        log.info("member %s of group %s failed its session (%d ms); removing it",
                 member.member_id, group.group_id, member.session_timeout_ms)
        self._remove_member_and_update_group(group, member, "session timeout")

    def _schedule_join(self, group: Group, delay_ms: int, callback: Callable[[], None]) -> None:
        self._cancel_join_timer(group)
        group.join_timer = self._loop().call_later(max(delay_ms, 0) / 1000, self._guard, group, callback)

    def _cancel_join_timer(self, group: Group) -> None:
        if group.join_timer is not None:
            group.join_timer.cancel()
            group.join_timer = None

    def _cancel_sync_timer(self, group: Group) -> None:
        if group.sync_timer is not None:
            group.sync_timer.cancel()
            group.sync_timer = None

    def _guard(self, group: Group, callback: Callable[[], None]) -> None:
        if self.groups.get(group.group_id) is not group:
            return  # unloaded or deleted meanwhile
        try:
            callback()
        except Exception:
            log.exception("group %s: timer callback failed", group.group_id)

    def _spawn(self, coro: Awaitable) -> None:
        task = self._loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ======================================================================================
    # persistence
    # ======================================================================================

    def _append(self, group_id: str, records: Records) -> Awaitable[int]:
        return self.store.append(self.partition_of(group_id), records, self.config.commit_timeout_ms)

    def _group_record(self, group: Group, assignment: dict[str, bytes]) -> tuple[bytes, bytes | None]:
        members = tuple(
            rec.MemberMetadata(m.member_id, m.group_instance_id, m.client_id, m.client_host, m.rebalance_timeout_ms,
                               m.session_timeout_ms, m.metadata(group.protocol_name),
                               assignment.get(m.member_id, b""))
            for m in group.members.values()
        )
        value = rec.GroupMetadataValue(
            protocol_type=group.protocol_type or "",
            generation=group.generation,
            protocol=group.protocol_name,
            leader=group.leader_id,
            current_state_timestamp=group.state_timestamp if group.state_timestamp is not None else -1,
            members=members,
        )
        return rec.group_metadata_record(group.group_id, value)

    def _write_group(self, group: Group, assignment: dict[str, bytes]) -> Awaitable[ErrorCode]:
        """Append the group's record now; the awaitable tells how the write ended."""
        written = self._append(group.group_id, [self._group_record(group, assignment)])

        async def outcome() -> ErrorCode:
            try:
                await written
            except KafkaError as exc:
                return _group_write_error(exc.code)
            return E.none

        return outcome()

    def _store_group_in_background(self, group: Group) -> None:
        """Write the group's metadata as it is now; nobody waits for it (a failure leaves the
        previous record in force, which a reload then treats as expired members)."""
        written = self._append(group.group_id, [self._group_record(group, {})])

        async def wait():
            try:
                await written
            except KafkaError as exc:
                log.warning("group %s: could not write its metadata: %s", group.group_id, exc)

        self._spawn(wait())

    # ======================================================================================
    # JoinGroup
    # ======================================================================================

    async def join_group(
        self,
        group_id: str,
        member_id: str,
        group_instance_id: str | None,
        client_id: str,
        client_host: str,
        protocol_type: str,
        protocols: list[tuple[str, bytes]],
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        require_known_member_id: bool,
    ) -> JoinResult:
        if not group_id:
            return JoinResult(E.invalid_group_id, member_id)
        error = self.check(group_id)
        if error != E.none:
            return JoinResult(error, member_id)
        cfg = self.config
        if not cfg.min_session_timeout_ms <= session_timeout_ms <= cfg.max_session_timeout_ms:
            return JoinResult(E.invalid_session_timeout, member_id)
        unknown = member_id == ""
        group = self.groups.get(group_id)
        if isinstance(group, ConsumerGroup):
            if not group.is_empty:
                # Kafka 4.1 lets classic members join a consumer group (KIP-848's mixed groups);
                # the engine does not.
                return JoinResult(E.inconsistent_group_protocol, member_id)
            self._replace_empty_consumer_group(group)
            group = None
        if group is None:
            if not unknown:
                return JoinResult(E.unknown_member_id, member_id)
            group = self.groups[group_id] = Group(group_id, self.now_ms())
            # Kafka records a new group at once: an empty GroupMetadataValue, generation 0.
            self._store_group_in_background(group)
        if not self._accept_joining_member(group, member_id):
            member = group.members.get(member_id)
            if member is not None:
                self._remove_member_and_update_group(group, member, "the group is full")
            return JoinResult(E.group_max_size_reached, "")
        future = self._loop().create_future()
        args = (group_instance_id, client_id, client_host, protocol_type, list(protocols),
                session_timeout_ms, rebalance_timeout_ms)
        if unknown:
            self._join_new_member(group, require_known_member_id, future, *args)
        else:
            self._join_existing_member(group, member_id, future, *args)
        return await future

    def _accept_joining_member(self, group: Group, member_id: str) -> bool:
        limit = self.config.max_size
        if group.is_in(GroupState.EMPTY, GroupState.DEAD):
            return True
        if group.state == GroupState.PREPARING_REBALANCE:
            member = group.members.get(member_id)
            return (member is not None and member.awaiting_join) or group.num_awaiting_join < limit
        return member_id in group.members or len(group.members) < limit

    def _join_new_member(self, group, require_known_member_id, future, instance_id, client_id, client_host,
                         protocol_type, protocols, session_timeout_ms, rebalance_timeout_ms) -> None:
        names = {n for n, _ in protocols}
        if group.state == GroupState.DEAD:
            future.set_result(JoinResult(E.coordinator_not_available, ""))
            return
        if not group.supports_protocols(protocol_type, names):
            future.set_result(JoinResult(E.inconsistent_group_protocol, ""))
            return
        new_id = f"{instance_id if instance_id is not None else client_id}-{uuid.uuid4()}"
        if instance_id is not None:
            old_id = group.static_members.get(instance_id)
            if old_id is not None:
                self._update_static_member_and_rebalance(group, instance_id, old_id, new_id, protocols,
                                                         session_timeout_ms, rebalance_timeout_ms, future)
            else:
                self._add_member_and_rebalance(group, new_id, instance_id, client_id, client_host, protocol_type,
                                               protocols, session_timeout_ms, rebalance_timeout_ms, future)
        elif require_known_member_id:
            # The member must come back with this id; until then it only holds a place.
            handle = self._loop().call_later(session_timeout_ms / 1000, self._guard, group,
                                             lambda: self._expire_pending_member(group, new_id))
            group.pending_members[new_id] = handle
            future.set_result(JoinResult(E.member_id_required, new_id))
        else:
            self._add_member_and_rebalance(group, new_id, None, client_id, client_host, protocol_type, protocols,
                                           session_timeout_ms, rebalance_timeout_ms, future)

    def _join_existing_member(self, group, member_id, future, instance_id, client_id, client_host, protocol_type,
                              protocols, session_timeout_ms, rebalance_timeout_ms) -> None:
        names = {n for n, _ in protocols}
        if group.state == GroupState.DEAD:
            future.set_result(JoinResult(E.coordinator_not_available, member_id))
            return
        if not group.supports_protocols(protocol_type, names):
            future.set_result(JoinResult(E.inconsistent_group_protocol, member_id))
            return
        if member_id in group.pending_members:
            handle = group.pending_members.pop(member_id)
            if handle is not None:
                handle.cancel()
            self._add_member_and_rebalance(group, member_id, instance_id, client_id, client_host, protocol_type,
                                           protocols, session_timeout_ms, rebalance_timeout_ms, future)
            return
        error = group.validate_member(member_id, instance_id)
        if error != E.none:
            future.set_result(JoinResult(error, member_id))
            return
        member = group.members[member_id]
        state = group.state
        if state == GroupState.PREPARING_REBALANCE:
            self._update_member_and_rebalance(group, member, protocols, session_timeout_ms, rebalance_timeout_ms,
                                              future, "member rejoined")
        elif state == GroupState.COMPLETING_REBALANCE:
            if member.matches(protocols):
                # It missed the answer to its JoinGroup: the current generation, again.
                future.set_result(self._join_answer(group, member))
            else:
                self._update_member_and_rebalance(group, member, protocols, session_timeout_ms,
                                                  rebalance_timeout_ms, future, "member changed its metadata")
        elif state == GroupState.STABLE:
            if group.leader_id == member_id or not member.matches(protocols):
                # The leader rejoining asks for a new assignment (e.g. topic metadata changed).
                self._update_member_and_rebalance(group, member, protocols, session_timeout_ms,
                                                  rebalance_timeout_ms, future, "leader or changed member rejoined")
            else:
                future.set_result(self._join_answer(group, member))
        else:
            future.set_result(JoinResult(E.unknown_member_id, member_id))

    def _join_answer(self, group: Group, member: Member) -> JoinResult:
        return JoinResult(
            E.none, member.member_id, group.generation, group.protocol_type, group.protocol_name,
            group.leader_id or "", group.current_members() if group.leader_id == member.member_id else (),
        )

    def _add_member_and_rebalance(self, group, member_id, instance_id, client_id, client_host, protocol_type,
                                  protocols, session_timeout_ms, rebalance_timeout_ms, future) -> None:
        member = Member(member_id, instance_id, client_id, client_host, rebalance_timeout_ms, session_timeout_ms,
                        protocol_type, list(protocols))
        member.is_new = True
        if group.state == GroupState.PREPARING_REBALANCE and group.previous_state == GroupState.EMPTY:
            group.new_member_added = True
        group.add(member, future)
        # A parked JoinGroup cannot heartbeat: new members get a long, separate deadline.
        self._schedule_heartbeat(group, member, self.config.new_member_join_timeout_ms)
        self._maybe_prepare_rebalance_or_complete_join(group, f"new member {member_id} joined")

    def _update_member_and_rebalance(self, group, member, protocols, session_timeout_ms, rebalance_timeout_ms,
                                     future, reason) -> None:
        group.update_member(member, protocols, rebalance_timeout_ms, session_timeout_ms, future)
        self._maybe_prepare_rebalance_or_complete_join(group, reason)

    def _update_static_member_and_rebalance(self, group, instance_id, old_id, new_id, protocols,
                                            session_timeout_ms, rebalance_timeout_ms, future) -> None:
        current_leader = group.leader_id
        member = group.replace_static_member(instance_id, old_id, new_id)
        old_protocols = list(member.protocols)
        old_timeouts = (member.rebalance_timeout_ms, member.session_timeout_ms)
        group.update_member(member, protocols, rebalance_timeout_ms, session_timeout_ms, future)
        self._schedule_heartbeat(group, member, session_timeout_ms)
        state = group.state
        if state == GroupState.STABLE:
            if group.protocol_name == group.select_protocol():
                # Same protocol next generation: persist the new member id, no rebalance.
                written = self._write_group(group, {m.member_id: m.assignment for m in group.members.values()})
                self._spawn(self._finish_static_replace(group, member, instance_id, old_id, current_leader,
                                                        old_protocols, old_timeouts, written))
            else:
                self._maybe_prepare_rebalance_or_complete_join(group, f"static member {instance_id} changed protocol")
        elif state == GroupState.COMPLETING_REBALANCE:
            self._maybe_prepare_rebalance_or_complete_join(group, f"static member {instance_id} rejoined")
        elif state == GroupState.PREPARING_REBALANCE:
            self._maybe_complete_join_phase(group)

    async def _finish_static_replace(self, group, member, instance_id, old_id, current_leader, old_protocols,
                                     old_timeouts, written: Awaitable[ErrorCode]) -> None:
        generation = group.generation
        error = await written
        if group.members.get(member.member_id) is not member:
            return  # fenced or removed meanwhile; its future was answered then
        if error != E.none:
            group.complete_join(member, JoinResult(error, ""))
            if group.generation == generation and group.static_members.get(instance_id) == member.member_id:
                restored = group.replace_static_member(instance_id, member.member_id, old_id)
                group.update_member(restored, old_protocols, old_timeouts[0], old_timeouts[1], None)
                self._schedule_heartbeat(group, restored, restored.session_timeout_ms)
            return
        # The old leader id is returned on purpose: a replaced leader must not believe it
        # leads (its assignment would not reach a Stable group).
        group.complete_join(member, JoinResult(
            E.none, member.member_id, group.generation, group.protocol_type, group.protocol_name,
            current_leader or "", (),
        ))

    def _maybe_prepare_rebalance_or_complete_join(self, group: Group, reason: str) -> None:
        if group.can_rebalance():
            self._prepare_rebalance(group, reason)
        else:
            self._maybe_complete_join_phase(group)

    def _maybe_complete_join_phase(self, group: Group) -> None:
        if (group.state == GroupState.PREPARING_REBALANCE and group.has_all_members_joined()
                and group.previous_state != GroupState.EMPTY):
            self._complete_join(group)

    def _prepare_rebalance(self, group: Group, reason: str) -> None:
        if group.state == GroupState.COMPLETING_REBALANCE:
            self._reset_and_propagate_assignment_error(group, E.rebalance_in_progress)
        self._cancel_sync_timer(group)
        initial = group.state == GroupState.EMPTY
        if initial:
            delay = self.config.initial_rebalance_delay_ms
            remaining = max(group.rebalance_timeout_ms() - delay, 0)
            self._schedule_join(group, delay, lambda: self._try_complete_initial_rebalance(group, delay, remaining))
        group.transition(GroupState.PREPARING_REBALANCE, self.now_ms())
        log.info("preparing to rebalance group %s (generation %d): %s", group.group_id, group.generation, reason)
        if not initial:
            if group.has_all_members_joined():
                self._complete_join(group)
            else:
                self._schedule_join(group, group.rebalance_timeout_ms(), lambda: self._complete_join(group))

    def _try_complete_initial_rebalance(self, group: Group, delay_ms: int, remaining_ms: int) -> None:
        if group.new_member_added and remaining_ms != 0:
            group.new_member_added = False
            new_delay = min(self.config.initial_rebalance_delay_ms, remaining_ms)
            new_remaining = max(remaining_ms - delay_ms, 0)
            self._schedule_join(group, new_delay,
                                lambda: self._try_complete_initial_rebalance(group, new_delay, new_remaining))
        else:
            self._complete_join(group)

    def _complete_join(self, group: Group) -> None:
        self._cancel_join_timer(group)
        if group.state != GroupState.PREPARING_REBALANCE:
            return
        for member in group.not_yet_rejoined():
            if not member.is_static:
                log.info("member %s of group %s did not rejoin in time; removing it", member.member_id, group.group_id)
                self._forget_member(group, member, E.unknown_member_id)
        if not group.maybe_elect_new_joined_leader() and group.members:
            # Nobody rejoined (only static members that did not come back): wait for their
            # sessions to expire.
            self._schedule_join(group, group.rebalance_timeout_ms(), lambda: self._complete_join(group))
            return
        group.init_next_generation(self.now_ms())
        if group.state == GroupState.EMPTY:
            log.info("group %s is empty at generation %d", group.group_id, group.generation)
            self._store_group_in_background(group)
            return
        log.info("group %s: generation %d with %d members, protocol %s, leader %s", group.group_id,
                 group.generation, len(group.members), group.protocol_name, group.leader_id)
        for member in list(group.members.values()):
            group.complete_join(member, self._join_answer(group, member))
            self._schedule_heartbeat(group, member, member.session_timeout_ms)
            member.is_new = False
            group.pending_sync.add(member.member_id)
        generation = group.generation
        group.sync_timer = self._loop().call_later(
            group.rebalance_timeout_ms() / 1000, self._guard, group, lambda: self._expire_pending_sync(group, generation))

    def _expire_pending_sync(self, group: Group, generation: int) -> None:
        group.sync_timer = None
        if generation != group.generation or not group.is_in(GroupState.COMPLETING_REBALANCE, GroupState.STABLE):
            return
        if group.pending_sync:
            laggards = list(group.pending_sync)
            log.info("group %s: members %s did not sync in time; removing them", group.group_id, laggards)
            for member_id in laggards:
                member = group.members.get(member_id)
                if member is not None:
                    self._forget_member(group, member, E.unknown_member_id)
                group.pending_sync.discard(member_id)
            self._maybe_prepare_rebalance_or_complete_join(group, "members did not sync in time")

    def _expire_pending_member(self, group: Group, member_id: str) -> None:
        if group.pending_members.pop(member_id, None) is None:
            return
        if group.state == GroupState.PREPARING_REBALANCE and group.has_all_members_joined():
            self._complete_join(group)

    def _forget_member(self, group: Group, member: Member, error: ErrorCode) -> None:
        """Take a member out of the group, answering anything it still waits for."""
        group.complete_join(member, JoinResult(error, ""))
        group.complete_sync(member, SyncResult(error))
        if member.timer is not None:
            member.timer.cancel()
            member.timer = None
        group.remove(member.member_id)

    def _remove_member_and_update_group(self, group: Group, member: Member, reason: str) -> None:
        self._forget_member(group, member, E.unknown_member_id)
        if group.is_in(GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self._maybe_prepare_rebalance_or_complete_join(group, f"member {member.member_id} left: {reason}")
        elif group.state == GroupState.PREPARING_REBALANCE and group.has_all_members_joined():
            self._complete_join(group)

    # ======================================================================================
    # SyncGroup
    # ======================================================================================

    async def sync_group(self, group_id: str, generation: int, member_id: str, group_instance_id: str | None,
                         protocol_type: str | None, protocol_name: str | None,
                         assignments: Iterable[tuple[str, bytes]]) -> SyncResult:
        error = self.check(group_id)
        if error != E.none:
            return SyncResult(error)
        group = self.groups.get(group_id)
        if group is None or isinstance(group, ConsumerGroup):
            return SyncResult(E.unknown_member_id)
        if group.state == GroupState.DEAD:
            return SyncResult(E.coordinator_not_available)
        error = group.validate_member(member_id, group_instance_id)
        if error != E.none:
            return SyncResult(error)
        if generation != group.generation:
            return SyncResult(E.illegal_generation)
        if (protocol_type is not None and protocol_type != group.protocol_type) or (
                protocol_name is not None and protocol_name != group.protocol_name):
            return SyncResult(E.inconsistent_group_protocol)
        member = group.members[member_id]
        if group.state == GroupState.PREPARING_REBALANCE:
            return SyncResult(E.rebalance_in_progress)
        if group.state == GroupState.STABLE:
            self._remove_pending_sync(group, member_id)
            self._schedule_heartbeat(group, member, member.session_timeout_ms)
            return SyncResult(E.none, group.protocol_type, group.protocol_name, member.assignment)
        if group.state != GroupState.COMPLETING_REBALANCE:
            return SyncResult(E.unknown_member_id)
        future = self._loop().create_future()
        group.complete_sync(member, SyncResult(E.rebalance_in_progress))  # a retry replaces a parked one
        member.sync_future = future
        self._remove_pending_sync(group, member_id)
        if group.leader_id == member_id:
            assignment = {m: bytes(a) for m, a in assignments}
            missing = [m for m in group.members if m not in assignment]
            if missing:
                log.warning("group %s: leader %s gave no assignment to %s", group_id, member_id, missing)
            for m in missing:
                assignment[m] = b""
            written = self._write_group(group, assignment)
            self._spawn(self._after_assignment_written(group, generation, assignment, written))
        return await future

    async def _after_assignment_written(self, group: Group, generation: int, assignment: dict[str, bytes],
                                        written: Awaitable[ErrorCode]) -> None:
        error = await written
        # Someone may have joined or left while we wrote: only the same generation, still
        # completing its rebalance, takes this assignment.
        if self.groups.get(group.group_id) is not group:
            return
        if group.state != GroupState.COMPLETING_REBALANCE or group.generation != generation:
            return
        if error != E.none:
            self._reset_and_propagate_assignment_error(group, error)
            self._maybe_prepare_rebalance_or_complete_join(group, f"could not store the assignment: {error.name}")
            return
        for member in group.members.values():
            member.assignment = assignment.get(member.member_id, b"")
        self._propagate_assignment(group, E.none)
        group.transition(GroupState.STABLE, self.now_ms())
        log.info("group %s is stable at generation %d", group.group_id, group.generation)

    def _propagate_assignment(self, group: Group, error: ErrorCode) -> None:
        for member in group.members.values():
            result = (SyncResult(E.none, group.protocol_type, group.protocol_name, member.assignment)
                      if error == E.none else SyncResult(error))
            if group.complete_sync(member, result):
                self._schedule_heartbeat(group, member, member.session_timeout_ms)

    def _reset_and_propagate_assignment_error(self, group: Group, error: ErrorCode) -> None:
        for member in group.members.values():
            member.assignment = b""
        self._propagate_assignment(group, error)

    def _remove_pending_sync(self, group: Group, member_id: str) -> None:
        group.pending_sync.discard(member_id)
        if not group.pending_sync:
            self._cancel_sync_timer(group)

    # ======================================================================================
    # Heartbeat and LeaveGroup
    # ======================================================================================

    def heartbeat(self, group_id: str, member_id: str, group_instance_id: str | None, generation: int) -> ErrorCode:
        error = self.check(group_id)
        if error != E.none:
            return error
        group = self.groups.get(group_id)
        if group is None or isinstance(group, ConsumerGroup):
            return E.unknown_member_id
        if group.state == GroupState.DEAD:
            return E.coordinator_not_available
        error = group.validate_member(member_id, group_instance_id)
        if error != E.none:
            return error
        if generation != group.generation:
            return E.illegal_generation
        member = group.members[member_id]
        if group.state == GroupState.EMPTY:
            return E.unknown_member_id
        self._schedule_heartbeat(group, member, member.session_timeout_ms)
        if group.state == GroupState.PREPARING_REBALANCE:
            return E.rebalance_in_progress
        return E.none

    def leave_group(self, group_id: str, leaving: list[tuple[str, str | None]]
                    ) -> tuple[ErrorCode, list[tuple[str, str | None, ErrorCode]]]:
        error = self.check(group_id)
        if error != E.none:
            return error, []
        group = self.groups.get(group_id)
        if group is None:
            return E.unknown_member_id, []
        if isinstance(group, ConsumerGroup):
            return E.none, [(m, i, E.unknown_member_id) for m, i in leaving]
        if group.state == GroupState.DEAD:
            return E.coordinator_not_available, []
        results = []
        valid: list[Member] = []
        removed_pending = False
        for member_id, instance_id in leaving:
            if instance_id is None:
                if member_id in group.pending_members:
                    handle = group.pending_members.pop(member_id)
                    if handle is not None:
                        handle.cancel()
                    removed_pending = True
                    results.append((member_id, instance_id, E.none))
                elif member_id not in group.members:
                    results.append((member_id, instance_id, E.unknown_member_id))
                else:
                    valid.append(group.members[member_id])
                    results.append((member_id, instance_id, E.none))
            else:
                existing = group.static_members.get(instance_id)
                if existing is None:
                    results.append((member_id, instance_id, E.unknown_member_id))
                elif member_id and member_id != existing:
                    results.append((member_id, instance_id, E.fenced_instance_id))
                else:
                    valid.append(group.members[existing])
                    results.append((member_id, instance_id, E.none))
        seen = set()
        for member in valid:
            if member.member_id in seen or member.member_id not in group.members:
                continue
            seen.add(member.member_id)
            log.info("member %s leaves group %s", member.member_id, group_id)
            self._remove_member_and_update_group(group, member, "LeaveGroup")
        if removed_pending and group.state == GroupState.PREPARING_REBALANCE and group.has_all_members_joined():
            self._complete_join(group)
        return E.none, results

    # ======================================================================================
    # offsets
    # ======================================================================================

    async def commit_offsets(
        self,
        group_id: str,
        generation: int,
        member_id: str,
        group_instance_id: str | None,
        retention_ms: int,
        offsets: list[tuple[str, int, int, int, str | None]],  # topic, partition, offset, leader epoch, metadata
        partition_exists: Callable[[str, int], bool] = lambda t, p: True,
        api_version: int = 9,
    ) -> dict[tuple[str, int], ErrorCode]:
        keys = [(t, p) for t, p, *_ in offsets]
        error = E.invalid_group_id if not group_id else self.check(group_id)
        if error != E.none:
            return dict.fromkeys(keys, error)
        group = self.groups.get(group_id)
        if isinstance(group, ConsumerGroup) and api_version < 9 and member_id in group.members:
            return dict.fromkeys(keys, E.unsupported_version)  # Kafka: members of consumer groups commit with v9+
        if group is None:
            if generation >= 0:
                return dict.fromkeys(keys, E.illegal_generation)
            group = self.groups[group_id] = Group(group_id, self.now_ms())
        else:
            error = group.validate_offset_commit(member_id, group_instance_id, generation)
            if error != E.none:
                return dict.fromkeys(keys, error)
            member = group.members.get(member_id)
            if member is not None and group.is_in(GroupState.STABLE, GroupState.PREPARING_REBALANCE):
                self._schedule_heartbeat(group, member, member.session_timeout_ms)
        now = self.now_ms()
        expire = now + retention_ms if retention_ms is not None and retention_ms >= 0 else -1
        results, pending, records = self._offset_records(group_id, offsets, now, expire, partition_exists)
        if not records:
            return results
        try:
            base = await self._append(group_id, records)
        except KafkaError as exc:
            code = _offset_write_error(exc.code)
            for key, _ in pending:
                results[key] = code
            return results
        current = self.groups.get(group_id)
        if current is None and self.check(group_id) == E.none:
            # The group was deleted while we wrote: our record follows its tombstones (or was
            # not among them), so the offsets live on, in a simple group as a reload would see.
            current = self.groups[group_id] = Group(group_id, self.now_ms())
        if current is not None:
            for i, (key, om) in enumerate(pending):
                om.record_offset = base + i
                existing = current.offsets.get(key)
                if existing is None or existing.record_offset <= om.record_offset:
                    current.offsets[key] = om
        return results

    async def txn_commit_offsets(
        self,
        group_id: str,
        producer_id: int,
        producer_epoch: int,
        generation: int,
        member_id: str,
        group_instance_id: str | None,
        offsets: list[tuple[str, int, int, int, str | None]],  # topic, partition, offset, leader epoch, metadata
        partition_exists: Callable[[str, int], bool] = lambda t, p: True,
    ) -> dict[tuple[str, int], ErrorCode]:
        """TxnOffsetCommit: write the offsets as part of the producer's transaction; they
        count once its commit marker reaches this group's partition (`complete_txn`)."""
        keys = [(t, p) for t, p, *_ in offsets]
        error = E.invalid_group_id if not group_id else self.check(group_id)
        if error != E.none:
            return dict.fromkeys(keys, error)
        group = self.groups.get(group_id)
        if group is None:
            group = self.groups[group_id] = Group(group_id, self.now_ms())
        elif generation >= 0 or member_id:  # v3+: the consumer's group metadata (KIP-447) is checked
            error = group.validate_offset_commit(member_id, group_instance_id, generation)
            if error != E.none:
                return dict.fromkeys(keys, error)
        results, pending, records = self._offset_records(group_id, offsets, self.now_ms(), -1, partition_exists)
        if not records:
            return results
        try:
            base = await self.store.append(self.partition_of(group_id), records, self.config.commit_timeout_ms,
                                           producer=(producer_id, producer_epoch))
        except KafkaError as exc:
            code = _offset_write_error(exc.code)
            return {key: (code if code_ok == E.none else code_ok) for key, code_ok in results.items()}
        held = self.pending_txn_offsets.setdefault(producer_id, {}).setdefault(group_id, {})
        for i, (key, om) in enumerate(pending):
            om.record_offset = base + i
            held[key] = om
        return results

    def complete_txn(self, partition: int, producer_id: int, committed: bool) -> None:
        """The transaction's marker is in `__consumer_offsets` partition `partition` (and
        replicated): apply its offsets for the groups of that partition, or drop them."""
        by_group = self.pending_txn_offsets.get(producer_id)
        if not by_group:
            return
        for group_id in [g for g in by_group if self.partition_count and self.partition_of(g) == partition]:
            offsets = by_group.pop(group_id)
            group = self.groups.get(group_id)
            if committed and group is not None and group.state != GroupState.DEAD:
                _merge_newer(group.offsets, offsets)
        if not by_group:
            del self.pending_txn_offsets[producer_id]

    def has_pending_txn_offset(self, group_id: str, topic: str, partition: int) -> bool:
        return any((topic, partition) in by_group.get(group_id, ()) for by_group in self.pending_txn_offsets.values())

    def _offset_records(self, group_id: str, offsets, now: int, expire: int, partition_exists: Callable[[str, int], bool]
                        ) -> tuple[dict[tuple[str, int], ErrorCode], list[tuple[tuple[str, int], OffsetAndMetadata]],
                                   Records]:
        """Check each offset to commit: (result per partition, offsets to apply, their records)."""
        results: dict[tuple[str, int], ErrorCode] = {}
        pending: list[tuple[tuple[str, int], OffsetAndMetadata]] = []
        records: Records = []
        for topic, partition, offset, leader_epoch, metadata in offsets:
            key = (topic, partition)
            if metadata is not None and len(metadata.encode()) > self.config.offset_metadata_max_bytes:
                results[key] = E.offset_metadata_too_large
                continue
            if not partition_exists(topic, partition):
                results[key] = E.unknown_topic_or_partition
                continue
            om = OffsetAndMetadata(offset, leader_epoch, metadata or "", now, expire)
            records.append(rec.offset_commit_record(group_id, topic, partition, rec.OffsetCommitValue(
                om.offset, om.leader_epoch, om.metadata, om.commit_timestamp, om.expire_timestamp)))
            pending.append((key, om))
            results[key] = E.none
        return results, pending, records

    def fetch_offsets(self, group_id: str, topics: list[tuple[str, list[int]]] | None,
                      member_id: str | None = None, member_epoch: int = -1,
                      ) -> tuple[ErrorCode, list[tuple[str, list[tuple[int, OffsetAndMetadata | None]]]]]:
        error = self.check(group_id)
        if error != E.none:
            return error, []
        group = self.groups.get(group_id)
        if isinstance(group, ConsumerGroup):
            error = group.validate_offset_fetch(member_id, member_epoch)
            if error != E.none:
                return error, []
        offsets = group.offsets if group is not None and group.state != GroupState.DEAD else {}
        if topics is None:
            by_topic: dict[str, list] = {}
            for (topic, partition), om in sorted(offsets.items()):
                by_topic.setdefault(topic, []).append((partition, om))
            return E.none, list(by_topic.items())
        return E.none, [(t, [(p, offsets.get((t, p))) for p in parts]) for t, parts in topics]

    async def delete_offsets(self, group_id: str, topics: list[tuple[str, list[int]]]
                             ) -> tuple[ErrorCode, dict[tuple[str, int], ErrorCode]]:
        error = self.check(group_id)
        if error != E.none:
            return error, {}
        group = self.groups.get(group_id)
        if group is None or group.state == GroupState.DEAD:
            return E.group_id_not_found, {}
        if not group.is_in(GroupState.EMPTY) and not group.uses_consumer_protocol:
            return E.non_empty_group, {}
        results: dict[tuple[str, int], ErrorCode] = {}
        records: Records = []
        deleted = []
        for topic, partitions in topics:
            subscribed = group.state != GroupState.EMPTY and group.is_subscribed_to(topic)
            for p in partitions:
                if subscribed:
                    results[(topic, p)] = E.group_subscribed_to_topic
                    continue
                results[(topic, p)] = E.none
                if (topic, p) in group.offsets:
                    records.append(rec.offset_commit_record(group_id, topic, p, None))
                    deleted.append((topic, p))
        if records:
            try:
                await self._append(group_id, records)
            except KafkaError as exc:
                return _offset_write_error(exc.code), {}
            for key in deleted:
                group.offsets.pop(key, None)
        return E.none, results

    # ======================================================================================
    # DescribeGroups, ListGroups, DeleteGroups
    # ======================================================================================

    def describe_group(self, group_id: str) -> tuple[ErrorCode, GroupSummary]:
        error = self.check(group_id)
        if error != E.none:
            return error, GroupSummary(group_id, "", "", "", ())
        group = self.groups.get(group_id)
        if isinstance(group, ConsumerGroup):
            return E.none, GroupSummary(group_id, GroupState.DEAD.value, "", "", (),
                                        f"Group {group_id} is not a classic group.")
        if group is None or group.state == GroupState.DEAD:
            return E.none, GroupSummary(group_id, GroupState.DEAD.value, "", "", ())
        stable = group.state == GroupState.STABLE
        members = tuple(
            (m.member_id, m.group_instance_id, m.client_id, m.client_host,
             m.metadata(group.protocol_name) if stable else b"", m.assignment if stable else b"")
            for m in group.members.values()
        )
        return E.none, GroupSummary(group_id, group.state.value, group.protocol_type or "",
                                    (group.protocol_name or "") if stable else "", members)

    def list_groups(self, states: Iterable[str] = ()) -> tuple[ErrorCode, list[tuple[str, str, str]]]:
        error, groups = self.list_typed_groups(states, ("classic",))
        return error, [g[:3] for g in groups]

    def list_typed_groups(self, states: Iterable[str] = (), types: Iterable[str] = ()
                          ) -> tuple[ErrorCode, list[tuple[str, str, str, str]]]:
        """(group id, protocol type, state, group type "classic" or "consumer") of every group
        in one of `states` and `types` (empty: any), compared without regard to case."""
        wanted = {s.lower() for s in states}
        kinds = {t.lower() for t in types}
        error = E.coordinator_load_in_progress if any(s == LOADING for s in self.shards.values()) else E.none
        out = []
        for group in self.groups.values():
            if group.state.value == "Dead" or self.check(group.group_id) != E.none:
                continue
            kind = "consumer" if isinstance(group, ConsumerGroup) else "classic"
            if (wanted and group.state.value.lower() not in wanted) or (kinds and kind not in kinds):
                continue
            out.append((group.group_id, group.protocol_type or "", group.state.value, kind))
        return error, out

    async def delete_groups(self, group_ids: list[str]) -> dict[str, ErrorCode]:
        results: dict[str, ErrorCode] = {}
        by_partition: dict[int, list[Group]] = {}
        for group_id in group_ids:
            error = E.invalid_group_id if not group_id else self.check(group_id)
            if error != E.none:
                results[group_id] = error
                continue
            group = self.groups.get(group_id)
            if group is None or group.state.value == "Dead":
                results[group_id] = E.group_id_not_found
            elif not (group.is_empty if isinstance(group, ConsumerGroup) else group.state == GroupState.EMPTY):
                results[group_id] = E.non_empty_group
            else:
                by_partition.setdefault(self.partition_of(group_id), []).append(group)
                results[group_id] = E.none
        for partition, groups in by_partition.items():
            records: Records = []
            for group in groups:
                records.extend(rec.offset_commit_record(group.group_id, t, p, None) for t, p in group.offsets)
                records.append(rec.group_metadata_record(group.group_id, None))
            try:
                await self.store.append(partition, records, self.config.commit_timeout_ms)
            except KafkaError as exc:
                for group in groups:
                    results[group.group_id] = _group_write_error(exc.code)
                continue
            for group in groups:
                if self.groups.get(group.group_id) is group:
                    del self.groups[group.group_id]
                    self._drop_group(group, E.coordinator_not_available)
        return results

    # ======================================================================================
    # retention
    # ======================================================================================

    async def expire_offsets(self) -> int:
        """Delete offsets past offsets.retention.minutes (counted from when the group became
        empty, or from the commit), then groups left empty with no offsets. Returns the
        number of offsets deleted."""
        now = self.now_ms()
        retention = self.config.offsets_retention_ms
        by_partition: dict[int, list[tuple[Group, list[tuple[str, int]], bool]]] = {}
        for group in list(self.groups.values()):
            if group.state == GroupState.DEAD or self.check(group.group_id) != E.none:
                continue
            base = group.offset_expiry_base()
            expired = []
            if base is not None:
                for (topic, p), om in group.offsets.items():
                    if group.state != GroupState.EMPTY and group.is_subscribed_to(topic):
                        continue
                    if om.expire_timestamp >= 0:
                        gone = now >= om.expire_timestamp
                    else:
                        gone = now - base(om) >= retention
                    if gone:
                        expired.append((topic, p))
            empty = group.is_empty if isinstance(group, ConsumerGroup) else group.state == GroupState.EMPTY
            drop_group = (empty and len(expired) == len(group.offsets)
                          and not group.pending_members and not group.members)
            if expired or drop_group:
                by_partition.setdefault(self.partition_of(group.group_id), []).append((group, expired, drop_group))
        count = 0
        for partition, entries in by_partition.items():
            records: Records = []
            for group, expired, drop_group in entries:
                records.extend(rec.offset_commit_record(group.group_id, t, p, None) for t, p in expired)
                if drop_group:
                    records.append(rec.group_metadata_record(group.group_id, None))
            try:
                await self.store.append(partition, records, self.config.commit_timeout_ms)
            except KafkaError as exc:
                log.warning("could not expire offsets in __consumer_offsets-%d: %s", partition, exc)
                continue
            for group, expired, drop_group in entries:
                for key in expired:
                    group.offsets.pop(key, None)
                count += len(expired)
                if drop_group and not group.offsets and not group.members \
                        and self.groups.get(group.group_id) is group:
                    del self.groups[group.group_id]
                    self._drop_group(group, E.coordinator_not_available)
                if expired:
                    log.info("expired %d offsets of group %s", len(expired), group.group_id)
        return count

    async def remove_offsets_of_deleted_topics(self, topics: frozenset[str]) -> int:
        """Tombstone every loaded group's committed offsets on `topics`, which were deleted (Kafka's
        onPartitionsDeleted): left behind, they break tools that look up their partitions
        (kafka-consumer-groups --describe) and OffsetDelete can no longer remove them, since the
        topic is unknown. Returns the number of offsets removed."""
        by_partition: dict[int, list[tuple[Group, list[tuple[tuple[str, int], OffsetAndMetadata]]]]] = {}
        for group in self.groups.values():
            if group.state == GroupState.DEAD or self.check(group.group_id) != E.none:
                continue
            gone = [(key, om) for key, om in group.offsets.items() if key[0] in topics]
            if gone:
                by_partition.setdefault(self.partition_of(group.group_id), []).append((group, gone))
        count = 0
        for partition, entries in by_partition.items():
            records: Records = [rec.offset_commit_record(group.group_id, t, p, None)
                                for group, gone in entries for (t, p), _ in gone]
            try:
                await self.store.append(partition, records, self.config.commit_timeout_ms)
            except KafkaError as exc:
                log.warning("could not remove the offsets of deleted topics from %s-%d: %s",
                            OFFSETS_TOPIC, partition, exc)
                continue
            for group, gone in entries:
                for key, om in gone:
                    if group.offsets.get(key) is om:  # not committed again (to a topic of that name) meanwhile
                        del group.offsets[key]
                count += len(gone)
                log.info("removed %d offsets of deleted topic(s) %s from group %s", len(gone),
                         ", ".join(sorted({t for (t, _), _ in gone})), group.group_id)
        return count


def _group_write_error(code: ErrorCode) -> ErrorCode:
    """Kafka's mapping of a failed group metadata write to what members are told."""
    if code in (E.unknown_topic_or_partition, E.not_enough_replicas, E.not_enough_replicas_after_append,
                E.request_timed_out, E.coordinator_not_available):
        return E.coordinator_not_available
    if code in (E.not_leader_or_follower, E.kafka_storage_error, E.not_coordinator):
        return E.not_coordinator
    if code in (E.message_too_large, E.record_list_too_large, E.invalid_fetch_size):
        return E.unknown_server_error
    return code


def _offset_write_error(code: ErrorCode) -> ErrorCode:
    if code in (E.message_too_large, E.record_list_too_large, E.invalid_fetch_size):
        return E.invalid_commit_offset_size
    return _group_write_error(code)
