"""The KIP-848 consumer group protocol (`group.protocol=consumer`), as Kafka 4.1 runs it.

Behaviour follows Kafka's GroupMetadataManager, ConsumerGroup and CurrentAssignmentBuilder:
- Epochs: the group epoch is bumped when a member joins or leaves, changes its
  subscription, or the subscribed topics change (created, deleted, partitions added). When
  the group epoch is ahead of the target assignment epoch, the server assignor (the one
  most members ask for, else the first of `group.consumer.assignors`) computes a new
  target assignment at the group epoch.
- Reconciliation (`reconcile`, pure): a member first keeps only what it owns of its target
  and is asked to revoke the rest (UNREVOKED_PARTITIONS, epoch unchanged); once its
  heartbeat no longer lists those partitions, it moves to the target epoch and gets the new
  partitions that no other member still owns; partitions another member has not released
  yet are withheld (UNRELEASED_PARTITIONS) until released. A member that does not revoke
  within its rebalance timeout is fenced.
- Sessions: a member that does not heartbeat within `group.consumer.session.timeout.ms` is
  removed. Static members (instance id) leave temporarily with epoch -2, keep their
  assignment, and a new member id with the same instance id takes it over; a second
  member with a live instance id gets UNRELEASED_INSTANCE_ID.
- Offsets: the group's committed offsets live in the group object like a classic group's
  (records in `__consumer_offsets`); a commit's generation is the member epoch
  (STALE_MEMBER_EPOCH when it differs; UNKNOWN_MEMBER_ID for a stranger; admin commits
  only while the group is empty).

Not persisted: Kafka writes the group, member, target assignment and current assignment
records (key versions 3–8) to `__consumer_offsets`; here only offsets are. After the
coordinator moves, the group's members are unknown to the new coordinator: their
heartbeats get UNKNOWN_MEMBER_ID and they rejoin (epoch 0), reassigned from scratch.

All state lives in the event loop and changes only here, synchronously (nothing is written,
so a heartbeat has no await); the GroupManager owns the groups dict and its partitions.
"""

from __future__ import annotations

import base64
import enum
import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from partita.engine.groups.assignors import ASSIGNORS, MemberSpec
from partita.engine.groups.state import OffsetAndMetadata
from partita.engine.protocol.errors import ErrorCode

log = logging.getLogger(__name__)

E = ErrorCode
LEAVE_EPOCH = -1
STATIC_LEAVE_EPOCH = -2
Partitions = dict[uuid.UUID, frozenset[int]]
# a topic's id and partition count by name, from the broker's metadata image (None: no such topic)
TopicLookup = Callable[[str], "tuple[uuid.UUID, int] | None"]


class MemberState(enum.Enum):
    STABLE = "stable"
    UNREVOKED_PARTITIONS = "unrevoked_partitions"
    UNRELEASED_PARTITIONS = "unreleased_partitions"


class ConsumerGroupState(enum.Enum):
    EMPTY = "Empty"
    ASSIGNING = "Assigning"
    RECONCILING = "Reconciling"
    STABLE = "Stable"
    DEAD = "Dead"


class HeartbeatError(Exception):
    def __init__(self, code: ErrorCode, message: str | None = None):
        super().__init__(message or code.name)
        self.code = code
        self.message = message


@dataclass(slots=True)
class Reconciled:
    state: MemberState
    epoch: int
    assigned: Partitions
    pending_revocation: Partitions


def _owns_any(owned: Mapping[uuid.UUID, frozenset[int]] | None, partitions: Partitions) -> bool:
    """Whether the member still reports any of `partitions` (unknown when it did not say)."""
    if owned is None:
        return True
    return any(owned.get(t, frozenset()) & ps for t, ps in partitions.items())


def reconcile(state: MemberState, epoch: int, assigned: Partitions, pending_revocation: Partitions,
              target_epoch: int, target: Partitions, owned_elsewhere: Callable[[uuid.UUID, int], bool],
              owned: Mapping[uuid.UUID, frozenset[int]] | None) -> Reconciled:
    """Kafka's CurrentAssignmentBuilder: the member's next state towards `target`.

    `owned` is what the member's heartbeat says it owns (None when it did not say);
    `owned_elsewhere(topic, partition)` whether another member still holds a partition."""
    if state == MemberState.STABLE:
        if epoch == target_epoch:
            return Reconciled(state, epoch, assigned, pending_revocation)
        return _next(epoch, assigned, target_epoch, target, owned_elsewhere, owned)
    if state == MemberState.UNREVOKED_PARTITIONS:
        if _owns_any(owned, pending_revocation):
            return Reconciled(state, epoch, assigned, pending_revocation)
        return _next(epoch + 1, assigned, target_epoch, target, owned_elsewhere, owned)
    return _next(epoch, assigned, target_epoch, target, owned_elsewhere, owned)


def _next(epoch: int, current: Partitions, target_epoch: int, target: Partitions,
          owned_elsewhere: Callable[[uuid.UUID, int], bool], owned) -> Reconciled:
    keep: dict[uuid.UUID, frozenset[int]] = {}
    revoke: dict[uuid.UUID, frozenset[int]] = {}
    add: dict[uuid.UUID, frozenset[int]] = {}
    unreleased = False
    for topic in set(target) | set(current):
        want = target.get(topic, frozenset())
        have = current.get(topic, frozenset())
        if have & want:
            keep[topic] = have & want
        if have - want:
            revoke[topic] = have - want
        free = {p for p in want - have if not owned_elsewhere(topic, p)}
        if len(free) < len(want - have):
            unreleased = True
        if free:
            add[topic] = frozenset(free)
    if revoke and _owns_any(owned, revoke):
        return Reconciled(MemberState.UNREVOKED_PARTITIONS, epoch, keep, revoke)
    for topic, ps in add.items():
        keep[topic] = keep.get(topic, frozenset()) | ps
    state = MemberState.UNRELEASED_PARTITIONS if unreleased else MemberState.STABLE
    return Reconciled(state, target_epoch, keep, {})


@dataclass(eq=False)
class ConsumerMember:
    member_id: str
    instance_id: str | None = None
    rack_id: str | None = None
    client_id: str = ""
    client_host: str = ""
    rebalance_timeout_ms: int = -1
    subscribed_topic_names: tuple[str, ...] = ()
    subscribed_topic_regex: str | None = None
    server_assignor: str | None = None
    epoch: int = 0
    previous_epoch: int = 0
    state: MemberState = MemberState.STABLE
    assigned: Partitions = field(default_factory=dict)
    pending_revocation: Partitions = field(default_factory=dict)
    session_timer: object = None  # asyncio.TimerHandle
    rebalance_timer: object = None

    def subscription(self) -> tuple:
        return (self.subscribed_topic_names, self.subscribed_topic_regex)

    def is_reconciled_to(self, epoch: int) -> bool:
        return self.state == MemberState.STABLE and self.epoch == epoch

    def cancel_timers(self) -> None:
        for name in ("session_timer", "rebalance_timer"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)


class ConsumerGroup:
    """One consumer-protocol group: members, epochs, target assignment, offsets."""

    protocol_type = "consumer"
    uses_consumer_protocol = True
    pending_members = MappingProxyType({})  # read by code shared with classic groups; never any here

    def __init__(self, group_id: str, now_ms: int):
        self.group_id = group_id
        self.created_ms = now_ms
        self.group_epoch = 0
        self.assignment_epoch = 0
        self.members: dict[str, ConsumerMember] = {}
        self.static_members: dict[str, str] = {}  # instance id -> member id
        self.target: dict[str, Partitions] = {}
        self.owners: dict[tuple[uuid.UUID, int], str] = {}  # partition -> member holding it
        self.subscription_metadata: dict[uuid.UUID, tuple[str, int]] = {}
        self.offsets: dict[tuple[str, int], OffsetAndMetadata] = {}
        self.dead = False

    def __repr__(self) -> str:
        return f"ConsumerGroup({self.group_id!r}, {self.state.value}, epoch {self.group_epoch})"

    @property
    def state(self) -> ConsumerGroupState:
        if self.dead:
            return ConsumerGroupState.DEAD
        if not self.members:
            return ConsumerGroupState.EMPTY
        if self.group_epoch > self.assignment_epoch:
            return ConsumerGroupState.ASSIGNING
        if any(not m.is_reconciled_to(self.assignment_epoch) for m in self.members.values()):
            return ConsumerGroupState.RECONCILING
        return ConsumerGroupState.STABLE

    @property
    def is_empty(self) -> bool:
        return not self.members

    def is_in(self, *states) -> bool:
        return False  # classic states only: a consumer group is in none of them

    def preferred_assignor(self) -> str | None:
        counts = Counter(m.server_assignor for m in self.members.values() if m.server_assignor)
        return counts.most_common(1)[0][0] if counts else None

    def subscribed_names(self) -> set[str]:
        return {t for m in self.members.values() for t in m.subscribed_topic_names}

    def is_subscribed_to(self, topic: str) -> bool:
        if not self.members:
            return False
        if any(topic in m.subscribed_topic_names for m in self.members.values()):
            return True
        return any(name == topic for name, _ in self.subscription_metadata.values())

    def offset_expiry_base(self):
        return lambda om: om.commit_timestamp

    # -- partition ownership --------------------------------------------------------------

    def owned_elsewhere(self, member_id: str) -> Callable[[uuid.UUID, int], bool]:
        owners = self.owners
        return lambda t, p: owners.get((t, p), member_id) != member_id

    def set_assignment(self, member: ConsumerMember, assigned: Partitions, pending: Partitions) -> None:
        for t, ps in list(member.assigned.items()) + list(member.pending_revocation.items()):
            for p in ps:
                if self.owners.get((t, p)) == member.member_id:
                    del self.owners[(t, p)]
        member.assigned, member.pending_revocation = assigned, pending
        for t, ps in list(assigned.items()) + list(pending.items()):
            for p in ps:
                self.owners[(t, p)] = member.member_id

    def remove(self, member: ConsumerMember) -> None:
        self.set_assignment(member, {}, {})
        member.cancel_timers()
        self.members.pop(member.member_id, None)
        self.target.pop(member.member_id, None)
        if member.instance_id is not None and self.static_members.get(member.instance_id) == member.member_id:
            del self.static_members[member.instance_id]

    # -- offsets --------------------------------------------------------------------------

    def validate_offset_commit(self, member_id: str, instance_id: str | None, generation: int) -> ErrorCode:
        """Kafka's ConsumerGroup.validateOffsetCommit: the generation is the member epoch."""
        if self.dead:
            return E.coordinator_not_available
        if generation < 0 and not self.members:
            return E.none
        member = self.members.get(member_id)
        if member is None:
            return E.unknown_member_id
        if generation != member.epoch:
            return E.stale_member_epoch
        return E.none

    def validate_offset_fetch(self, member_id: str | None, epoch: int) -> ErrorCode:
        if member_id is None and epoch < 0:
            return E.none
        member = self.members.get(member_id or "")
        if member is None:
            return E.unknown_member_id
        if epoch != member.epoch:
            return E.stale_member_epoch
        return E.none


@dataclass(slots=True)
class HeartbeatResult:
    error: ErrorCode
    message: str | None = None
    member_id: str | None = None
    epoch: int = 0
    heartbeat_interval_ms: int = 0
    assignment: Partitions | None = None


def new_member_id() -> str:
    """Kafka's Uuid.randomUuid().toString(): URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


def _owned(topic_partitions) -> dict[uuid.UUID, frozenset[int]] | None:
    if topic_partitions is None:
        return None
    return {t: frozenset(ps) for t, ps in topic_partitions}


class ConsumerProtocol:
    """The consumer protocol over the groups of a GroupManager (which owns `groups`)."""

    def __init__(self, manager):
        self.manager = manager

    @property
    def config(self):
        return self.manager.config

    # -- ConsumerGroupHeartbeat -----------------------------------------------------------

    def heartbeat(self, version: int, group_id: str, member_id: str, member_epoch: int, instance_id: str | None,
                  rack_id: str | None, rebalance_timeout_ms: int, subscribed_topic_names: list[str] | None,
                  subscribed_topic_regex: str | None, server_assignor: str | None,
                  topic_partitions: list[tuple[uuid.UUID, list[int]]] | None, client_id: str, client_host: str,
                  topics: TopicLookup, all_topics: Callable[[], list[str]]) -> HeartbeatResult:
        try:
            self._validate(version, group_id, member_id, member_epoch, instance_id, rack_id, rebalance_timeout_ms,
                           subscribed_topic_names, subscribed_topic_regex, server_assignor, topic_partitions)
            error = self.manager.check(group_id)
            if error != E.none:
                raise HeartbeatError(error)
            if member_epoch in (LEAVE_EPOCH, STATIC_LEAVE_EPOCH):
                return self._leave(group_id, member_id, instance_id, member_epoch)
            return self._heartbeat(group_id, member_id, member_epoch, instance_id, rack_id, rebalance_timeout_ms,
                                   subscribed_topic_names, subscribed_topic_regex, server_assignor,
                                   _owned(topic_partitions), client_id, client_host, topics, all_topics)
        except HeartbeatError as exc:
            return HeartbeatResult(exc.code, exc.message)

    def _validate(self, version, group_id, member_id, member_epoch, instance_id, rack_id, rebalance_timeout_ms,
                  names, regex, assignor, topic_partitions) -> None:
        def invalid(message):
            raise HeartbeatError(E.invalid_request, message)

        if group_id == "":
            invalid("GroupId can't be empty.")
        if instance_id == "":
            invalid("InstanceId can't be empty.")
        if rack_id == "":
            invalid("RackId can't be empty.")
        if version >= 1 and not member_id:
            invalid("MemberId can't be empty.")
        if member_epoch > 0 or member_epoch == LEAVE_EPOCH:
            if not member_id:
                invalid("MemberId can't be empty.")
        elif member_epoch == 0:
            if rebalance_timeout_ms == -1:
                invalid("RebalanceTimeoutMs must be provided in first request.")
            if topic_partitions is None or topic_partitions:
                invalid("TopicPartitions must be empty when (re-)joining.")
            if names is None and regex is None:
                invalid("Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.")
        elif member_epoch == STATIC_LEAVE_EPOCH:
            if not member_id:
                invalid("MemberId can't be empty.")
            if instance_id is None:
                invalid("InstanceId can't be null.")
        else:
            invalid("MemberEpoch is invalid.")
        if regex is not None:
            try:
                re.compile(regex)
            except re.error as exc:
                raise HeartbeatError(E.invalid_regular_expression, f"SubscribedTopicRegex `{regex}` is not a valid "
                                     f"regular expression: {exc}.") from exc
        assignors = self.config.consumer_assignors
        if assignor is not None and assignor not in assignors:
            raise HeartbeatError(E.unsupported_assignor, f"ServerAssignor {assignor} is not supported. "
                                 f"Supported assignors: {', '.join(assignors)}.")

    def _group(self, group_id: str, create: bool) -> ConsumerGroup:
        manager = self.manager
        group = manager.groups.get(group_id)
        if isinstance(group, ConsumerGroup):
            return group
        if group is None or (create and manager.classic_group_is_empty(group)):
            if not create:
                # Kafka persists consumer groups, so a member whose group is gone was removed;
                # here a coordinator change forgets the group: the member must rejoin either way.
                raise HeartbeatError(E.unknown_member_id, f"Consumer group {group_id} not found.")
            new = ConsumerGroup(group_id, manager.now_ms())
            if group is not None:
                new.offsets = group.offsets  # an empty classic group: the offsets carry over
                manager.discard_classic_group(group)
            manager.groups[group_id] = new
            log.info("consumer group %s created", group_id)
            return new
        if create:
            raise HeartbeatError(E.group_id_not_found, f"Group {group_id} is not a consumer group.")
        raise HeartbeatError(E.unknown_member_id, f"Member is not a member of group {group_id}.")

    @staticmethod
    def _check_epoch(member: ConsumerMember, epoch: int, owned) -> None:
        if epoch > member.epoch:
            raise HeartbeatError(E.fenced_member_epoch, f"The consumer group member has a greater member epoch "
                                 f"({epoch}) than the one known by the group coordinator ({member.epoch}). "
                                 "The member must abandon all its partitions and rejoin.")
        if epoch < member.epoch:
            subset = owned is not None and all(ps <= member.assigned.get(t, frozenset()) for t, ps in owned.items())
            if epoch != member.previous_epoch or not subset:
                raise HeartbeatError(E.fenced_member_epoch, f"The consumer group member has a smaller member epoch "
                                     f"({epoch}) than the one known by the group coordinator ({member.epoch}). "
                                     "The member must abandon all its partitions and rejoin.")

    def _member(self, group: ConsumerGroup, member_id: str, epoch: int, instance_id: str | None, owned
                ) -> tuple[ConsumerMember, bool]:
        """The member the heartbeat is from (new: True when it joins now)."""
        join = epoch == 0
        if instance_id is None:
            member = group.members.get(member_id)
            if member is None:
                if not join:
                    raise HeartbeatError(E.unknown_member_id,
                                         f"Member {member_id} is not a member of group {group.group_id}.")
                member = ConsumerMember(member_id)
                group.members[member_id] = member
                log.info("group %s: member %s joins", group.group_id, member_id)
                return member, True
            if join:
                self._rejoin(group, member)
            else:
                self._check_epoch(member, epoch, owned)
            return member, False
        existing_id = group.static_members.get(instance_id)
        existing = group.members.get(existing_id) if existing_id is not None else None
        if join:
            if existing is None:
                member = ConsumerMember(member_id, instance_id)
                group.members[member_id] = member
                group.static_members[instance_id] = member_id
                log.info("group %s: static member %s (%s) joins", group.group_id, member_id, instance_id)
                return member, True
            if existing.member_id == member_id:
                self._rejoin(group, existing)
                return existing, False
            if existing.epoch != STATIC_LEAVE_EPOCH:
                raise HeartbeatError(E.unreleased_instance_id, f"Static member {member_id} with instance id "
                                     f"{instance_id} cannot join the group because the instance id is owned by "
                                     f"{existing.member_id} member.")
            # The new member id takes over the departed instance's assignment.
            member = ConsumerMember(member_id, instance_id, existing.rack_id, existing.client_id, existing.client_host,
                                    existing.rebalance_timeout_ms, existing.subscribed_topic_names,
                                    existing.subscribed_topic_regex, existing.server_assignor, 0, 0, existing.state)
            assigned, target = existing.assigned, group.target.get(existing.member_id)
            group.remove(existing)
            group.members[member_id] = member
            group.static_members[instance_id] = member_id
            group.set_assignment(member, assigned, {})
            if target is not None:
                group.target[member_id] = target
            log.info("group %s: static member %s rejoins as %s", group.group_id, instance_id, member_id)
            return member, False
        if existing is None:
            raise HeartbeatError(E.unknown_member_id, f"Instance id {instance_id} is unknown.")
        if existing.member_id != member_id:
            raise HeartbeatError(E.fenced_instance_id, f"Static member {member_id} with instance id {instance_id} "
                                 f"was fenced by member {existing.member_id}.")
        self._check_epoch(existing, epoch, owned)
        return existing, False

    @staticmethod
    def _rejoin(group: ConsumerGroup, member: ConsumerMember) -> None:
        """A known member id joins again with epoch 0 (it was fenced, or lost its state): it
        starts over from epoch 0 and owns nothing until reconciled again."""
        group.set_assignment(member, {}, {})
        member.epoch = member.previous_epoch = 0
        member.state = MemberState.STABLE
        if member.rebalance_timer is not None:
            member.rebalance_timer.cancel()
            member.rebalance_timer = None

    def _heartbeat(self, group_id, member_id, member_epoch, instance_id, rack_id, rebalance_timeout_ms, names, regex,
                   assignor, owned, client_id, client_host, topics: TopicLookup, all_topics) -> HeartbeatResult:
        cfg = self.config
        join = member_epoch == 0
        group = self._group(group_id, join)
        if len(group.members) >= cfg.consumer_max_size and (not member_id or member_id not in group.members):
            raise HeartbeatError(E.group_max_size_reached, "The consumer group has reached its maximum capacity of "
                                 f"{cfg.consumer_max_size} members.")
        if not member_id:
            member_id = new_member_id()
        member, is_new = self._member(group, member_id, member_epoch, instance_id, owned)
        old_assigned = dict(member.assigned)
        old_subscription = member.subscription()
        if instance_id is not None:
            member.instance_id = instance_id
        if rack_id is not None:
            member.rack_id = rack_id
        if rebalance_timeout_ms != -1:
            member.rebalance_timeout_ms = rebalance_timeout_ms
        if assignor is not None:
            member.server_assignor = assignor
        if names is not None:
            member.subscribed_topic_names = tuple(names)
        if regex is not None:
            member.subscribed_topic_regex = regex or None
        member.client_id, member.client_host = client_id, client_host
        bump = is_new or member.subscription() != old_subscription

        metadata = self._subscription_metadata(group, topics, all_topics)
        if metadata != group.subscription_metadata:
            group.subscription_metadata = metadata
            bump = True
        if bump:
            group.group_epoch += 1
            log.info("group %s: epoch %d", group_id, group.group_epoch)
        if group.group_epoch > group.assignment_epoch:
            self._compute_target(group, topics, all_topics)
        self._reconcile(group, member, owned)
        self._schedule_session(group, member)
        full = member_epoch == 0 or (rebalance_timeout_ms != -1 and names is not None and owned is not None)
        assignment = dict(member.assigned) if full or member.assigned != old_assigned else None
        return HeartbeatResult(E.none, None, member.member_id, member.epoch, cfg.consumer_heartbeat_interval_ms,
                               assignment)

    def _subscribed_topics(self, member: ConsumerMember, all_topics) -> set[str]:
        names = set(member.subscribed_topic_names)
        if member.subscribed_topic_regex:
            pattern = re.compile(member.subscribed_topic_regex)
            names.update(t for t in all_topics() if pattern.fullmatch(t) and not t.startswith("__"))
        return names

    def _subscription_metadata(self, group: ConsumerGroup, topics: TopicLookup, all_topics
                               ) -> dict[uuid.UUID, tuple[str, int]]:
        out = {}
        for member in group.members.values():
            for name in self._subscribed_topics(member, all_topics):
                found = topics(name)
                if found is not None:
                    out[found[0]] = (name, found[1])
        return out

    def _compute_target(self, group: ConsumerGroup, topics: TopicLookup, all_topics) -> None:
        cfg = self.config
        name = group.preferred_assignor() or cfg.consumer_assignors[0]
        assign = ASSIGNORS[name]
        by_name = {n: t for t, (n, _) in group.subscription_metadata.items()}
        specs = {}
        for m in group.members.values():
            ids = frozenset(by_name[n] for n in self._subscribed_topics(m, all_topics) if n in by_name)
            specs[m.member_id] = MemberSpec(ids, group.target.get(m.member_id, {}))
        counts = {t: n for t, (_, n) in group.subscription_metadata.items()}
        result = assign(specs, counts)
        group.target = {m: {t: frozenset(ps) for t, ps in a.items() if ps} for m, a in result.items()}
        group.assignment_epoch = group.group_epoch
        log.info("group %s: target assignment at epoch %d by %s", group.group_id, group.assignment_epoch, name)

    def _reconcile(self, group: ConsumerGroup, member: ConsumerMember, owned) -> None:
        epoch = group.assignment_epoch
        if member.is_reconciled_to(epoch):
            return
        if member.epoch == STATIC_LEAVE_EPOCH:
            return
        before = (member.state, member.epoch, member.assigned, member.pending_revocation)
        r = reconcile(member.state, member.epoch, member.assigned, member.pending_revocation, epoch,
                      group.target.get(member.member_id, {}), group.owned_elsewhere(member.member_id), owned)
        if (r.state, r.epoch, r.assigned, r.pending_revocation) == before:
            return
        if r.epoch != member.epoch:
            member.previous_epoch, member.epoch = member.epoch, r.epoch
        member.state = r.state
        group.set_assignment(member, r.assigned, r.pending_revocation)
        if member.rebalance_timer is not None:
            member.rebalance_timer.cancel()
            member.rebalance_timer = None
        if r.state == MemberState.UNREVOKED_PARTITIONS:
            at = member.epoch
            member.rebalance_timer = self.manager._loop().call_later(
                max(member.rebalance_timeout_ms, 0) / 1000, self.manager._guard, group,
                lambda: self._rebalance_timeout(group, member, at))

    # -- timers ---------------------------------------------------------------------------

    def _schedule_session(self, group: ConsumerGroup, member: ConsumerMember) -> None:
        if member.session_timer is not None:
            member.session_timer.cancel()
        member.session_timer = self.manager._loop().call_later(
            self.config.consumer_session_timeout_ms / 1000, self.manager._guard, group,
            lambda: self._session_expired(group, member))

    def _session_expired(self, group: ConsumerGroup, member: ConsumerMember) -> None:
        member.session_timer = None
        if group.members.get(member.member_id) is member:
            log.info("group %s: member %s failed its session; removing it", group.group_id, member.member_id)
            self._fence(group, member)

    def _rebalance_timeout(self, group: ConsumerGroup, member: ConsumerMember, epoch: int) -> None:
        member.rebalance_timer = None
        if group.members.get(member.member_id) is member and member.epoch == epoch \
                and member.state == MemberState.UNREVOKED_PARTITIONS:
            log.info("group %s: member %s fenced: it did not revoke its partitions within %d ms",
                     group.group_id, member.member_id, member.rebalance_timeout_ms)
            self._fence(group, member)

    def _fence(self, group: ConsumerGroup, member: ConsumerMember) -> None:
        group.remove(member)
        group.group_epoch += 1

    # -- leaving --------------------------------------------------------------------------

    def _leave(self, group_id: str, member_id: str, instance_id: str | None, epoch: int) -> HeartbeatResult:
        group = self.manager.groups.get(group_id)
        if not isinstance(group, ConsumerGroup):
            raise HeartbeatError(E.group_id_not_found, f"Group {group_id} not found." if group is None
                                 else f"Group {group_id} is not a consumer group.")
        if instance_id is None:
            member = group.members.get(member_id)
            if member is None:
                raise HeartbeatError(E.unknown_member_id, f"Member {member_id} is not a member of group {group_id}.")
        else:
            existing = group.static_members.get(instance_id)
            member = group.members.get(existing) if existing is not None else None
            if member is None:
                raise HeartbeatError(E.unknown_member_id, f"Instance id {instance_id} is unknown.")
            if member.member_id != member_id:
                raise HeartbeatError(E.fenced_instance_id, f"Static member {member_id} with instance id "
                                     f"{instance_id} was fenced by member {member.member_id}.")
            if epoch == STATIC_LEAVE_EPOCH:
                log.info("group %s: static member %s (%s) leaves for now", group_id, member_id, instance_id)
                member.epoch = STATIC_LEAVE_EPOCH
                group.set_assignment(member, member.assigned, {})
                if member.rebalance_timer is not None:
                    member.rebalance_timer.cancel()
                    member.rebalance_timer = None
                return HeartbeatResult(E.none, None, member_id, STATIC_LEAVE_EPOCH)
        log.info("group %s: member %s leaves", group_id, member_id)
        self._fence(group, member)
        return HeartbeatResult(E.none, None, member_id, epoch)

    # -- ConsumerGroupDescribe ------------------------------------------------------------

    def describe(self, group_id: str) -> tuple[ErrorCode, str | None, ConsumerGroup | None]:
        error = self.manager.check(group_id)
        if error != E.none:
            return error, None, None
        group = self.manager.groups.get(group_id)
        if group is None or getattr(group, "dead", False) or (
                not isinstance(group, ConsumerGroup) and group.state.value == "Dead"):
            return E.group_id_not_found, f"Group {group_id} not found.", None
        if not isinstance(group, ConsumerGroup):
            return E.group_id_not_found, f"Group {group_id} is not a consumer group.", None
        return E.none, None, group

    def default_assignor(self, group: ConsumerGroup) -> str:
        return group.preferred_assignor() or self.config.consumer_assignors[0]

    def drop(self, group: ConsumerGroup) -> None:
        """The group leaves this coordinator (unload, deletion)."""
        for member in group.members.values():
            member.cancel_timers()
        group.dead = True

