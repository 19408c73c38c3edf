"""The controller: the single writer of cluster metadata.

It runs inside the supervisor's event loop; every operation is synchronous from reading
the current image to persisting the new one, so operations never interleave and need no
locks. A change is written to the metadata store before it is acknowledged and then
pushed to every broker as a whole new image.

Leadership follows Kafka's KRaft controller: a leader is chosen from the ISR in replica
order; when a broker is lost it leaves every ISR it was in (unless it was the last
member, which Kafka keeps so the partition can come back without data loss), and each
leader it held moves to the next live ISR member with a bumped leader epoch. With no
live ISR member the partition goes offline (leader -1) unless unclean election is on.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType

from partita.engine.cluster import client_quotas, placement, scram_credentials
from partita.engine.cluster.configs import (
    BROKER_CONFIGS,
    DYNAMIC_BROKER_CONFIGS,
    PER_BROKER_STATIC_CONFIGS,
    TOPIC_CONFIGS,
    config_value_problem,
    effective_topic_config,
    topic_name_problem,
)
from partita.engine.cluster.metadata import (
    NO_LEADER,
    BrokerInfo,
    MetadataImage,
    PartitionState,
    TopicState,
)
from partita.engine.cluster.store import MetadataStore
from partita.engine.protocol.errors import ErrorCode

log = logging.getLogger(__name__)
E = ErrorCode

# Kafka's QuorumController.MAX_RECORDS_PER_USER_OP: the most metadata records one request may
# make (a record per topic, per config set and per partition). Building a larger change took
# the supervisor long enough for the brokers to lose it.
MAX_RECORDS_PER_REQUEST = 10_000


class ControllerError(Exception):
    def __init__(self, code: ErrorCode, message: str = ""):
        self.code = code
        self.message = message
        super().__init__(f"{code.name}: {message}")


def _result(code: ErrorCode = E.none, message: str | None = None, **extra) -> dict:
    return {"error_code": int(code), "error_message": message, **extra}


def _refuse_all(items: list[dict], code: ErrorCode, message: str) -> list[dict]:
    """The same refusal for every topic of a request refused whole."""
    return [_result(code, message, name=item["name"]) for item in items]


def _unified(name: str) -> str | None:
    """The name Kafka compares for metric-name collisions (Topic.unifyCollisionChars), or None for
    a name without '.' or '_', which collides with nothing."""
    return name.replace(".", "_") if "." in name or "_" in name else None


def _usable(brokers: Mapping[int, BrokerInfo]) -> set[int]:
    return {n for n, b in brokers.items() if b.usable}


class Controller:
    def __init__(self, store: MetadataStore, cluster_id: str, static_broker_configs: dict[str, str]):
        self.store = store
        self.static_broker_configs = dict(static_broker_configs)
        loaded = store.load()
        self.image = loaded if loaded is not None else MetadataImage.empty(cluster_id)
        self._listeners: list[Callable[[MetadataImage], None]] = []
        self._collision_index: tuple[MetadataImage | None, dict[str, str]] = (None, {})
        # The term of the current controller (DescribeQuorum's leader epoch): the image version
        # that began it — a new supervisor, or another broker named controller — so it only grows,
        # across restarts too (versions are persisted), without state of its own.
        self.controller_epoch = self.image.version
        if loaded is None:
            self._commit(self.image)
        self.client_quotas = store.load_client_quotas()

    # -- plumbing -------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[MetadataImage], None]) -> None:
        self._listeners.append(listener)

    def _commit(self, new: MetadataImage) -> MetadataImage:
        # the broker named controller (for clients' controller-bound requests): the lowest live
        # one, not one in controlled shutdown while another can be named
        named = min((b for b in new.brokers.values() if b.alive), key=lambda b: (not b.usable, b.node_id),
                    default=None)
        new = replace(
            new,
            version=self.image.version + 1,
            controller_id=named.node_id if named is not None else NO_LEADER,
            topic_ids=MappingProxyType({t.topic_id: t.name for t in new.topics.values()}),
        )
        self.store.save(self.image, new)
        if new.controller_id != self.image.controller_id:
            self.controller_epoch = new.version
        self.image = new
        for listener in self._listeners:
            listener(new)
        return new

    def _with_topics(self, topics: dict[str, TopicState], brokers=None) -> MetadataImage:
        return replace(
            self.image,
            topics=MappingProxyType(topics),
            brokers=MappingProxyType(brokers) if brokers is not None else self.image.brokers,
        )

    def broker_setting(self, name: str) -> str:
        """A broker-level setting: dynamic cluster-wide value, then static, then Kafka's default."""
        dynamic = self.image.broker_configs.get(-1, {})
        if name in dynamic:
            return dynamic[name]
        if name in self.static_broker_configs:
            return self.static_broker_configs[name]
        return BROKER_CONFIGS[name].default

    def _topic_setting(self, topic: TopicState, name: str) -> str:
        value, _source = effective_topic_config(name, topic.configs, {**self.static_broker_configs,
                                                                        **self.image.broker_configs.get(-1, {})})
        return value

    # -- leadership ---------------------------------------------------------------------

    def _alive(self) -> set[int]:
        """Brokers that may lead, join an ISR or take new replicas: live and not shutting down."""
        return _usable(self.image.brokers)

    @staticmethod
    def _choose_leader(state: PartitionState, alive: set[int], unclean: bool) -> tuple[int, tuple[int, ...]]:
        """(leader, isr) after an election; leader -1 when no eligible replica is live."""
        targets = [r for r in state.replicas if r not in state.removing] or list(state.replicas)
        for r in targets:
            if r in state.isr and r in alive:
                return r, state.isr
        for r in state.replicas:
            if r in state.isr and r in alive:
                return r, state.isr
        if unclean:
            for r in state.replicas:
                if r in alive:
                    return r, (r,)
        return NO_LEADER, state.isr

    def _reelect(self, topic: TopicState, state: PartitionState, alive: set[int]) -> PartitionState:
        unclean = self._topic_setting(topic, "unclean.leader.election.enable") == "true"
        leader, isr = self._choose_leader(state, alive, unclean)
        if leader == state.leader and isr == state.isr:
            return state
        return replace(
            state,
            leader=leader,
            isr=isr,
            leader_epoch=state.leader_epoch + 1,
            partition_epoch=state.partition_epoch + 1,
        )

    # -- brokers --------------------------------------------------------------------------

    def register_broker(self, node_id: int, host: str, port: int, rack: str | None, log_dirs: list[str],
                        pid: int | None = None, listeners=()) -> MetadataImage:
        """`port` is the broker's PLAINTEXT listener; `listeners` its others, (name, port) pairs."""
        brokers = dict(self.image.brokers)
        brokers[node_id] = BrokerInfo(node_id, host, port, rack, tuple(log_dirs), alive=True, pid=pid,
                                      listeners=tuple((name, p) for name, p in listeners))
        alive = _usable(brokers)
        topics = {}
        for name, topic in self.image.topics.items():
            changed = topic
            for index, state in enumerate(topic.partitions):
                if state.leader == NO_LEADER and node_id in state.replicas:
                    new_state = self._reelect(topic, state, alive)
                    if new_state is not state:
                        changed = changed.with_partition(index, new_state)
            topics[name] = changed
        log.info("broker %d registered (%s:%d, rack %s)", node_id, host, port, rack)
        return self._commit(self._with_topics(topics, brokers))

    def broker_lost(self, node_id: int, reason: str, expected: bool = False) -> None:
        """Fence a broker (its process ended, its heartbeats stopped, or its controlled shutdown
        is done): out of every ISR it shares, its leaderships moved. An expected loss (a stop
        someone asked for) is logged as information, not as a warning."""
        broker = self.image.brokers.get(node_id)
        if broker is None or not broker.alive:
            return
        log.log(logging.INFO if expected else logging.WARNING, "broker %d %s: %s",
                node_id, "stopped" if expected else "lost", reason)
        brokers = dict(self.image.brokers)
        brokers[node_id] = replace(broker, alive=False, shutting_down=False)
        self._commit(self._with_topics(self._topics_without(node_id, _usable(brokers)), brokers))

    def begin_controlled_shutdown(self, node_id: int) -> MetadataImage:
        """A broker about to stop (Kafka's controlled shutdown): its leaderships move to other
        in-sync replicas and it leaves every ISR it shares, in one change, while it still serves,
        so clients and acks=all writes move on before its connections close. It stays listed
        (alive) until it is done (broker_lost); a partition with no other in-sync replica is left
        without a leader, as Kafka does. Returns the image to wait for."""
        broker = self.image.brokers.get(node_id)
        if broker is None or not broker.alive or broker.shutting_down:
            return self.image
        log.info("broker %d in controlled shutdown: moving its leaderships and leaving its ISRs", node_id)
        brokers = dict(self.image.brokers)
        brokers[node_id] = replace(broker, shutting_down=True)
        return self._commit(self._with_topics(self._topics_without(node_id, _usable(brokers)), brokers))

    def _topics_without(self, node_id: int, alive: set[int]) -> dict[str, TopicState]:
        """Every topic with `node_id` out of each ISR it shares with others and, where it leads, a
        new leader among the other in-sync replicas in `alive` (or none)."""
        topics = {}
        for name, topic in self.image.topics.items():
            changed = topic
            for index, state in enumerate(topic.partitions):
                if node_id not in state.replicas:
                    continue
                new_state = state
                if node_id in state.isr and len(state.isr) > 1:
                    new_state = replace(
                        state,
                        isr=tuple(r for r in state.isr if r != node_id),
                        partition_epoch=state.partition_epoch + 1,
                    )
                if state.leader == node_id:
                    new_state = self._reelect(topic, replace(new_state, leader=NO_LEADER), alive)
                    if new_state.leader_epoch == state.leader_epoch:  # no leader found: still a change
                        new_state = replace(new_state, leader_epoch=state.leader_epoch + 1,
                                            partition_epoch=new_state.partition_epoch + 1)
                if new_state is not state:
                    changed = changed.with_partition(index, new_state)
            topics[name] = changed
        return topics

    # -- topics ---------------------------------------------------------------------------

    def _placement_brokers(self) -> tuple[list[BrokerInfo], list[BrokerInfo]]:
        """The brokers new replicas may go to, as Kafka's usableBrokers: (unfenced, fenced), those
        in controlled shutdown in neither."""
        brokers = self.image.brokers.values()
        return [b for b in brokers if b.usable], [b for b in brokers if not b.alive]

    def _place(self, partitions: int, replication_factor: int, first_index: int) -> list[list[int]]:
        """Automatic placement, refused with Kafka's INVALID_REPLICATION_FACTOR message."""
        usable, fenced = self._placement_brokers()
        try:
            return placement.assign(usable, partitions, replication_factor, first_index, fenced=fenced)
        except placement.PlacementError as exc:
            raise ControllerError(E.invalid_replication_factor,
                                  f"Unable to replicate the partition {replication_factor} time(s): {exc}") from exc

    def _new_partitions_on(self, replica_lists: list[list[int]]) -> tuple[PartitionState, ...]:
        """New partitions as Kafka's buildPartitionRegistration makes them: the ISR the usable
        replicas (placement and the manual checks see that there is one), led by the first."""
        usable = self._alive()
        states = []
        for replicas in replica_lists:
            isr = tuple(r for r in replicas if r in usable)
            states.append(PartitionState(tuple(replicas), isr, isr[0]))
        return tuple(states)

    def _check_not_all_fenced(self, replicas: list[int], partition: int) -> None:
        if self._alive().isdisjoint(replicas):
            raise ControllerError(E.invalid_replica_assignment, f"All brokers specified in the manual partition "
                                  f"assignment for partition {partition} are fenced or in controlled shutdown.")

    def create_topics(self, topics: list[dict], validate_only: bool = False) -> list[dict]:
        """As Kafka: more partitions than one request may make refuses the whole request
        (POLICY_VIOLATION), before any is placed; so do more records, counted once the topics
        are checked, even when only validating."""
        if self._partitions_asked(topics) > MAX_RECORDS_PER_REQUEST:
            return _refuse_all(topics, E.policy_violation, "Excessively large number of partitions per request.")
        results = []
        records = 0
        new_topics = dict(self.image.topics)
        for spec in topics:
            name = spec["name"]
            try:
                state = self._new_topic(name, spec, new_topics)
            except ControllerError as exc:
                results.append(_result(exc.code, exc.message, name=name))
                continue
            if not validate_only:
                new_topics[name] = state
            records += 1 + len(state.configs) + len(state.partitions)
            results.append(
                _result(
                    name=name,
                    topic_id=str(state.topic_id),
                    num_partitions=len(state.partitions),
                    replication_factor=len(state.partitions[0].replicas),
                    configs=self._describe_topic_configs(state),
                )
            )
        if records > MAX_RECORDS_PER_REQUEST:
            return _refuse_all(topics, E.policy_violation, "Unable to perform excessively large batch operation.")
        if not validate_only and len(new_topics) != len(self.image.topics):
            self._commit(self._with_topics(new_topics))
        return results

    def _collisions(self) -> dict[str, str]:
        """Unified name -> the least existing topic name with it, among names with '.' or '_'.
        Only committed topics count, as in Kafka (topicsWithCollisionChars); built once per image."""
        if self._collision_index[0] is not self.image:
            index: dict[str, str] = {}
            for topic in sorted(self.image.topics):
                unified = _unified(topic)
                if unified is not None:
                    index.setdefault(unified, topic)
            self._collision_index = (self.image, index)
        return self._collision_index[1]

    def _partitions_asked(self, topics: list[dict]) -> int:
        """The partitions a CreateTopics request asks for, counted as Kafka's
        validateTotalNumberOfPartitions does, before any topic is checked."""
        default = int(self.broker_setting("num.partitions"))
        total = 0
        for spec in topics:
            partitions = spec.get("num_partitions", -1)
            if spec.get("assignments"):
                total += len(spec["assignments"])
            elif partitions in (-1, None):
                total += default
            elif partitions > 0:
                total += partitions
        return total

    def _new_topic(self, name: str, spec: dict, existing: dict) -> TopicState:
        problem = topic_name_problem(name)
        if problem:
            raise ControllerError(E.invalid_topic_exception, problem)
        if name in existing:
            raise ControllerError(E.topic_already_exists, f"Topic '{name}' already exists.")
        unified = _unified(name)
        colliding = self._collisions().get(unified) if unified else None
        if colliding is not None:
            raise ControllerError(E.invalid_topic_exception, f"Topic '{name}' collides with existing topic: {colliding}")
        configs = {}
        for key, value in (spec.get("configs") or {}).items():
            definition = TOPIC_CONFIGS.get(key)
            if definition is None:
                raise ControllerError(E.invalid_config, f"Unknown topic config name: {key}")
            problem = config_value_problem(definition, value)
            if problem:
                raise ControllerError(E.invalid_config, problem)
            if value is not None:
                configs[key] = value
        assignments = spec.get("assignments") or {}
        if assignments:
            replica_lists = self._manual_topic_assignment(assignments)
        else:
            partitions = spec.get("num_partitions", -1)
            if partitions in (-1, None):
                partitions = int(self.broker_setting("num.partitions"))
            rf = spec.get("replication_factor", -1)
            if rf in (-1, None):
                rf = min(int(self.broker_setting("default.replication.factor")),
                         max(1, sum(map(len, self._placement_brokers()))))
            if partitions < 1:
                raise ControllerError(E.invalid_partitions,
                                      "Number of partitions was set to an invalid non-positive value.")
            if rf < 1:
                raise ControllerError(E.invalid_replication_factor,
                                      "Replication factor must be larger than 0, or -1 to use the default value.")
            replica_lists = self._place(partitions, rf, first_index=len(existing))
        return TopicState(name, uuid.uuid4(), self._new_partitions_on(replica_lists), MappingProxyType(configs))

    def _manual_topic_assignment(self, assignments: dict | list) -> list[list[int]]:
        """CreateTopics' replica lists in partition order, checked as Kafka checks them.
        `assignments`: {partition: brokers}, or [partition, brokers] pairs (a request may name a
        partition twice)."""
        pairs = assignments.items() if isinstance(assignments, dict) else assignments
        by_partition: dict[int, list[int]] = {}
        replication_factor = None
        for partition, replicas in pairs:
            partition = int(partition)  # a JSON object's keys are strings
            if partition in by_partition:
                raise ControllerError(E.invalid_replica_assignment,
                                      f"Found multiple manual partition assignments for partition {partition}")
            self._check_manual_replicas(list(replicas), replication_factor)
            self._check_not_all_fenced(list(replicas), partition)
            replication_factor = len(replicas)
            by_partition[partition] = list(replicas)
        if sorted(by_partition) != list(range(len(by_partition))):
            raise ControllerError(E.invalid_replica_assignment,
                                  "partitions should be a consecutive 0-based integer sequence")
        return [by_partition[p] for p in range(len(by_partition))]

    def _check_manual_replicas(self, replicas: list[int], replication_factor: int | None) -> None:
        """Kafka's checks of one manually assigned replica list (validateManualPartitionAssignment),
        with its messages: not empty, registered brokers, each once, as many as the other
        partitions have."""
        if not replicas:
            raise ControllerError(E.invalid_replica_assignment,
                                  "The manual partition assignment includes an empty replica list.")
        previous = None
        for broker in sorted(replicas):
            if broker not in self.image.brokers:
                raise ControllerError(E.invalid_replica_assignment, f"The manual partition assignment includes "
                                      f"broker {broker}, but no such broker is registered.")
            if broker == previous:
                raise ControllerError(E.invalid_replica_assignment, f"The manual partition assignment includes "
                                      f"the broker {broker} more than once.")
            previous = broker
        if replication_factor is not None and len(replicas) != replication_factor:
            raise ControllerError(E.invalid_replica_assignment, f"The manual partition assignment includes a "
                                  f"partition with {len(replicas)} replica(s), but this is not consistent with "
                                  f"previous partitions, which have {replication_factor} replica(s).")

    def _describe_topic_configs(self, topic: TopicState) -> list[dict]:
        broker = {**self.static_broker_configs, **self.image.broker_configs.get(-1, {})}
        out = []
        for name in TOPIC_CONFIGS:
            value, source = effective_topic_config(name, topic.configs, broker)
            out.append({"name": name, "value": value, "source": source})
        return out

    def delete_topics(self, names: list[str]) -> list[dict]:
        topics = dict(self.image.topics)
        results = []
        for name in names:
            topic = topics.get(name)
            if topic is None:
                results.append(_result(E.unknown_topic_or_partition, "This server does not host this topic-partition.",
                                       name=name))
                continue
            if topic.internal:
                # Kafka deletes it (and every group's or transaction's state with it); the engine
                # refuses, and says why rather than claiming an authorization failure.
                hint = " (delete groups instead)" if name == "__consumer_offsets" else ""
                results.append(_result(E.policy_violation, f"The engine does not delete the internal topic {name}: "
                                       f"its coordinators keep their state in it{hint}", name=name))
                continue
            del topics[name]
            results.append(_result(name=name, topic_id=str(topic.topic_id)))
        if len(topics) != len(self.image.topics):
            self._commit(self._with_topics(topics))
        return results

    def create_partitions(self, requests: list[dict], validate_only: bool = False) -> list[dict]:
        """More new partitions than one request may make refuse the whole request before any is
        placed. Kafka 4.1.1 answers UNKNOWN_SERVER_ERROR without a message (its bounded record
        list overflows while it places them) and keeps the first 10,000; the engine answers the
        same code, says why, and creates none."""
        new = self._new_partitions_asked(requests)
        if new > MAX_RECORDS_PER_REQUEST:
            return _refuse_all(requests, E.unknown_server_error,
                               f"Unable to perform excessively large batch operation: {new} new partitions "
                               f"requested, at most {MAX_RECORDS_PER_REQUEST} in one request.")
        topics = dict(self.image.topics)
        results = []
        for req in requests:
            name = req["name"]
            topic = topics.get(name)
            try:
                if topic is None:
                    raise ControllerError(E.unknown_topic_or_partition, f"The topic '{name}' does not exist.")
                new_states = self._new_partitions(topic, req["count"], req.get("assignments"))
            except ControllerError as exc:
                results.append(_result(exc.code, exc.message, name=name))
                continue
            if not validate_only:
                topics[name] = replace(topic, partitions=topic.partitions + new_states)
            results.append(_result(name=name))
        if not validate_only and any(topics[n] is not self.image.topics.get(n) for n in topics):
            self._commit(self._with_topics(topics))
        return results

    def _new_partitions(self, topic: TopicState, count: int, assignments: list[list[int]] | None
                        ) -> tuple[PartitionState, ...]:
        """The partitions that grow `topic` to `count`: placed when `assignments` is None, else one
        replica list per new partition (an empty list, which kafka-topics --alter sends when its
        --replica-assignment names only existing partitions, is refused, as Kafka does)."""
        current = len(topic.partitions)
        if count == current:
            raise ControllerError(E.invalid_partitions, f"Topic already has {current} partition(s).")
        if count < current:
            raise ControllerError(E.invalid_partitions, f"The topic {topic.name} currently has {current} "
                                  f"partition(s); {count} would not be an increase.")
        additional = count - current
        replication_factor = len(topic.partitions[0].replicas)
        if assignments is None:
            lists = self._place(additional, replication_factor, first_index=current)
        else:
            if len(assignments) != additional:
                raise ControllerError(E.invalid_replica_assignment, f"Attempted to add {additional} additional "
                                      f"partition(s), but only {len(assignments)} assignment(s) were specified.")
            lists = [list(replicas) for replicas in assignments]
            for partition, replicas in enumerate(lists, start=current):
                self._check_manual_replicas(replicas, replication_factor)
                self._check_not_all_fenced(replicas, partition)
        return self._new_partitions_on(lists)

    def _new_partitions_asked(self, requests: list[dict]) -> int:
        topics = self.image.topics
        return sum(max(0, r["count"] - len(topics[r["name"]].partitions)) for r in requests if r["name"] in topics)

    # -- configs --------------------------------------------------------------------------

    def describe_topic_configs(self, name: str) -> list[dict]:
        topic = self.image.topics.get(name)
        if topic is None:
            raise ControllerError(E.unknown_topic_or_partition, f"Topic {name} does not exist")
        return self._describe_topic_configs(topic)

    def alter_configs(self, resources: list[dict], validate_only: bool = False) -> list[dict]:
        """IncrementalAlterConfigs: resource_type 2 (topic) or 4 (broker); ops 0 set, 1 delete, 2 append,
        3 subtract. A resource with `replace` (legacy AlterConfigs) starts from no dynamic configs."""
        topics = dict(self.image.topics)
        broker_configs = {k: dict(v) for k, v in self.image.broker_configs.items()}
        results = []
        for res in resources:
            rtype, rname = res["resource_type"], res["resource_name"]
            try:
                if rtype == 2:
                    topic = topics.get(rname)
                    if topic is None:
                        raise ControllerError(E.unknown_topic_or_partition, f"Topic {rname} does not exist")
                    current = {} if res.get("replace") else dict(topic.configs)
                    configs = self._apply_ops(current, res["configs"], TOPIC_CONFIGS, None)
                    topics[rname] = replace(topic, configs=MappingProxyType(configs))
                elif rtype == 4:
                    key = -1 if rname in ("", None) else int(rname)
                    if key != -1 and key not in self.image.brokers:
                        raise ControllerError(E.invalid_request, f"Broker {rname} does not exist")
                    current = {} if res.get("replace") else broker_configs.get(key, {})
                    broker_configs[key] = self._apply_ops(current, res["configs"], BROKER_CONFIGS,
                                                          DYNAMIC_BROKER_CONFIGS)
                else:
                    raise ControllerError(E.invalid_request, f"Unsupported resource type {rtype}")
                results.append(_result(resource_type=rtype, resource_name=rname))
            except ControllerError as exc:
                results.append(_result(exc.code, exc.message, resource_type=rtype, resource_name=rname))
            except ValueError as exc:
                results.append(_result(E.invalid_request, str(exc), resource_type=rtype, resource_name=rname))
        if not validate_only:
            self._commit(replace(
                self._with_topics(topics),
                broker_configs=MappingProxyType({k: MappingProxyType(v) for k, v in broker_configs.items()}),
            ))
        return results

    @staticmethod
    def _apply_ops(current: dict, ops: list[dict], definitions: dict, dynamic: frozenset | None) -> dict:
        """Apply IncrementalAlterConfigs ops to a resource's dynamic configs. `dynamic` is None for a
        topic; for a broker, the settings that may change at runtime. As Kafka: a broker accepts names
        it does not know (custom settings for plugins; DescribeConfigs hides their values), and a
        broker's errors are INVALID_REQUEST where a topic's are INVALID_CONFIG."""
        bad = E.invalid_config if dynamic is None else E.invalid_request
        for op in ops:
            name, value, kind = op["name"], op.get("value"), op.get("op", 0)
            definition = definitions.get(name)
            if dynamic is not None and (name in PER_BROKER_STATIC_CONFIGS or
                                        (definition is not None and name not in dynamic)):
                raise ControllerError(E.invalid_request, f"Cannot update these configs dynamically: Set({name})")
            if definition is None and dynamic is None:
                raise ControllerError(E.invalid_config, f"Unknown topic config name: {name}")
            if definition is None and kind in (0, 1):
                if kind == 0:
                    current[name] = value
                else:
                    current.pop(name, None)
                continue
            if definition is None:
                raise ControllerError(E.invalid_request, f"Config value append is not allowed for config key: {name}")
            if kind == 0:
                problem = config_value_problem(definition, value)
                if problem:
                    raise ControllerError(bad, problem)
                current[name] = value
            elif kind == 1:
                current.pop(name, None)
            elif kind in (2, 3):
                if definition.kind != "list":
                    raise ControllerError(bad, f"Config {name} is not a list, so APPEND/SUBTRACT are not allowed")
                items = [x for x in (current.get(name) or definition.default or "").split(",") if x]
                for item in (value or "").split(","):
                    if kind == 2 and item not in items:
                        items.append(item)
                    elif kind == 3 and item in items:
                        items.remove(item)
                current[name] = ",".join(items)
            else:
                raise ControllerError(E.invalid_request, f"Unknown config operation {kind}")
        return current

    # -- partition state from leaders -----------------------------------------------------

    def alter_partition(self, node_id: int, topic_name: str, partition: int, leader_epoch: int,
                        partition_epoch: int, new_isr: list[int]) -> dict:
        return self.alter_partitions(node_id, [{"topic": topic_name, "partition": partition,
                                                "leader_epoch": leader_epoch, "partition_epoch": partition_epoch,
                                                "isr": new_isr}])[0]

    def alter_partitions(self, node_id: int, changes: list[dict]) -> list[dict]:
        """A leader's ISR changes (Kafka's AlterPartition, which carries many partitions): each is
        checked and answered on its own; all that pass make one metadata change, so a broker
        catching up on thousands of partitions does not cost one image push per partition."""
        topics = dict(self.image.topics)
        alive = self._alive()
        results = []
        for change in changes:
            result, changed = self._alter_isr(topics, alive, node_id, change)
            if changed is not None:
                topics[changed.name] = changed
            results.append(result)
        if any(topics[name] is not topic for name, topic in self.image.topics.items()):
            self._commit(self._with_topics(topics))
        return results

    def _alter_isr(self, topics: dict[str, TopicState], alive: set[int], node_id: int, change: dict
                   ) -> tuple[dict, TopicState | None]:
        topic = topics.get(change["topic"])
        index = change["partition"]
        if topic is None or not 0 <= index < len(topic.partitions):
            return _result(E.unknown_topic_or_partition), None
        state = topic.partitions[index]
        if state.leader != node_id or state.leader_epoch != change["leader_epoch"]:
            return _result(E.fenced_leader_epoch, state=state.to_json()), None
        if state.partition_epoch != change["partition_epoch"]:
            return _result(E.invalid_update_version, state=state.to_json()), None
        # in the leader's order, as Kafka keeps it: a replica that rejoins comes last
        isr = tuple(dict.fromkeys(r for r in change["isr"] if r in state.replicas))
        if any(r not in alive for r in isr if r not in state.isr):
            return _result(E.ineligible_replica, state=state.to_json()), None
        if node_id not in isr:
            return _result(E.invalid_request, "the leader must stay in the ISR", state=state.to_json()), None
        new_state = replace(state, isr=isr, partition_epoch=state.partition_epoch + 1)
        new_state = self._maybe_complete_reassignment(topic, new_state, alive)
        return _result(state=new_state.to_json()), topic.with_partition(index, new_state)

    # -- reassignment ---------------------------------------------------------------------

    def _maybe_complete_reassignment(self, topic: TopicState, state: PartitionState, alive: set[int]) -> PartitionState:
        if not state.reassigning or not all(r in state.isr for r in state.adding):
            return state
        target = tuple(r for r in state.replicas if r not in state.removing)
        isr = tuple(r for r in state.isr if r in target)
        done = replace(state, replicas=target, isr=isr, adding=(), removing=())
        if state.leader not in target:
            done = self._reelect(topic, replace(done, leader=NO_LEADER), alive)
            done = replace(done, leader_epoch=max(done.leader_epoch, state.leader_epoch + 1))
        log.info("reassignment of %s completed: replicas %s", topic.name, list(target))
        return done

    def alter_reassignments(self, requests: list[dict]) -> list[dict]:
        """Each request: topic, partition, replicas (None cancels)."""
        topics = dict(self.image.topics)
        alive = self._alive()
        results = []
        for req in requests:
            name, index, target = req["topic"], req["partition"], req.get("replicas")
            topic = topics.get(name)
            state = topic.partitions[index] if topic and 0 <= index < len(topic.partitions) else None
            if state is None:
                results.append(_result(E.unknown_topic_or_partition, "The partition does not exist.",
                                       topic=name, partition=index))
                continue
            if target is None:
                if not state.reassigning:
                    results.append(_result(E.no_reassignment_in_progress,
                                           "No ongoing reassignment for this partition.", topic=name, partition=index))
                    continue
                original = tuple(r for r in state.replicas if r not in state.adding)
                new_state = replace(state, replicas=original, isr=tuple(r for r in state.isr if r in original) or
                                    (state.leader,), adding=(), removing=(), partition_epoch=state.partition_epoch + 1)
                if new_state.leader not in original:
                    new_state = self._reelect(topic, replace(new_state, leader=NO_LEADER), alive)
            else:
                target = tuple(target)
                if not target or len(set(target)) != len(target):
                    results.append(_result(E.invalid_replica_assignment, f"Invalid replica list {list(target)}",
                                           topic=name, partition=index))
                    continue
                unknown = [r for r in target if r not in self.image.brokers]
                if unknown:
                    results.append(_result(E.invalid_replica_assignment,
                                           f"Replica assignment has brokers that are not registered: {unknown}",
                                           topic=name, partition=index))
                    continue
                original = tuple(r for r in state.replicas if r not in state.adding)
                adding = tuple(r for r in target if r not in original)
                removing = tuple(r for r in original if r not in target)
                replicas = target + tuple(r for r in original if r not in target)
                new_state = replace(state, replicas=replicas, adding=adding, removing=removing,
                                    partition_epoch=state.partition_epoch + 1)
                new_state = self._maybe_complete_reassignment(topic, new_state, alive)
            topic = topic.with_partition(index, new_state)
            topics[name] = topic
            results.append(_result(topic=name, partition=index))
        self._commit(self._with_topics(topics))
        return results

    def list_reassignments(self) -> list[dict]:
        out = []
        for topic in self.image.topics.values():
            for index, state in enumerate(topic.partitions):
                if state.reassigning:
                    out.append({"topic": topic.name, "partition": index, "replicas": list(state.replicas),
                                "adding": list(state.adding), "removing": list(state.removing)})
        return out

    # -- producer ids ---------------------------------------------------------------------

    def allocate_producer_ids(self, node_id: int, count: int = 1000) -> dict:
        """A block of producer ids, persisted before it is handed out (Kafka's AllocateProducerIds)."""
        first = int(self.store.get_meta("next_producer_id", "0"))
        self.store.set_meta("next_producer_id", str(first + count))
        return {"first": first, "count": count}

    # -- client quotas and SCRAM credentials (stored and described; see their modules) ----

    def alter_client_quotas(self, entries: list[dict], validate_only: bool = False) -> list[dict]:
        """Each entry: entity [[type, name or None]...], ops [[key, value or None to remove]...]."""
        parsed = [(client_quotas.entity_key(tuple(pair) for pair in e["entity"]),
                   [(key, value) for key, value in e["ops"]]) for e in entries]
        new, results = client_quotas.alter(self.client_quotas, parsed)
        if not validate_only:
            changed = {entity: new.get(entity) for entity in self.client_quotas.keys() | new.keys()
                       if new.get(entity) != self.client_quotas.get(entity)}
            if changed:
                self.store.save_client_quotas(changed)
            self.client_quotas = new
        return [_result(E(error.code) if error else E.none, error.message if error else None,
                        entity=[list(pair) for pair in entity]) for entity, error in results]

    def describe_client_quotas(self, components: list[list], strict: bool) -> dict:
        try:
            matches = client_quotas.describe(self.client_quotas, [tuple(c) for c in components], strict)
        except client_quotas.QuotaError as exc:
            return _result(E(exc.code), exc.message, entries=None)
        return _result(message="", entries=[{"entity": [list(pair) for pair in entity], "values": values}
                                            for entity, values in matches])

    def alter_scram_credentials(self, deletions: list[list], upsertions: list[dict]) -> list[dict]:
        """Upsertions carry salt and salted_password base64-encoded; only derived keys are stored."""
        changes, results = scram_credentials.alter(
            self.scram_credentials, [(name, mechanism) for name, mechanism in deletions],
            [(u["name"], u["mechanism"], u["iterations"], base64.b64decode(u["salt"]),
              base64.b64decode(u["salted_password"])) for u in upsertions])
        if changes:
            # into the image, so brokers' SASL listeners see a new or deleted user with the next push
            credentials = dict(self.image.scram)
            for key, credential in changes.items():
                if credential is None:
                    credentials.pop(key, None)
                else:
                    credentials[key] = MappingProxyType(credential)
            self._commit(replace(self.image, scram=MappingProxyType(credentials)))
        return [{"user": user, "error_code": code, "error_message": message} for user, code, message in results]

    @property
    def scram_credentials(self) -> Mapping[tuple[str, int], Mapping]:
        return self.image.scram

    def describe_scram_credentials(self, users: list[str] | None) -> list[dict]:
        return [{"user": user, "error_code": code, "error_message": message,
                 "credentials": [list(info) for info in infos]}
                for user, code, message, infos in scram_credentials.describe(self.scram_credentials, users)]

    # -- automatic leader rebalance -------------------------------------------------------

    def rebalance_leaders(self) -> int:
        """auto.leader.rebalance as Kafka 4's KRaft controller does it: every partition whose
        preferred replica (the first) is alive and in the ISR but not leading gets its leadership
        back; there is no per-broker threshold (leader.imbalance.per.broker.percentage was
        removed in Kafka 4.0). Returns how many leaderships moved."""
        alive = self._alive()
        moves = []
        for topic in self.image.topics.values():
            for index, state in enumerate(topic.partitions):
                if not state.replicas or state.reassigning:
                    continue
                preferred = state.replicas[0]
                if state.leader != preferred and preferred in alive and preferred in state.isr:
                    moves.append((topic.name, index))
        if not moves:
            return 0
        results = self.elect_leaders(0, moves)
        moved = sum(1 for r in results if r["error_code"] == 0)
        log.info("leader rebalance moved %d leaderships back to their preferred replicas", moved)
        return moved

    # -- elections ------------------------------------------------------------------------

    def elect_leaders(self, election_type: int, partitions: list[tuple[str, int]] | None) -> list[dict]:
        """0 = preferred, 1 = unclean. None means every partition, and then, as in Kafka, the
        partitions that need no election are left out of the results. Errors carry no message:
        clients show their own for each code, as they do with Kafka's."""
        every = partitions is None
        if every:
            partitions = [(t.name, i) for t in self.image.topics.values() for i in range(len(t.partitions))]
        topics = dict(self.image.topics)
        alive = self._alive()
        results = []
        for name, index in partitions:
            topic = topics.get(name)
            state = topic.partitions[index] if topic and 0 <= index < len(topic.partitions) else None
            if state is None:
                results.append(_result(E.unknown_topic_or_partition, None, topic=name, partition=index))
                continue
            preferred = state.replicas[0]
            if election_type == 0:
                if state.leader == preferred:
                    if not every:
                        results.append(_result(E.election_not_needed, None, topic=name, partition=index))
                    continue
                if preferred not in alive or preferred not in state.isr:
                    results.append(_result(E.preferred_leader_not_available, None, topic=name, partition=index))
                    continue
                new_state = replace(state, leader=preferred, leader_epoch=state.leader_epoch + 1,
                                    partition_epoch=state.partition_epoch + 1)
            else:
                if state.leader != NO_LEADER:
                    if not every:
                        results.append(_result(E.election_not_needed, None, topic=name, partition=index))
                    continue
                leader, isr = self._choose_leader(state, alive, unclean=True)
                if leader == NO_LEADER:
                    results.append(_result(E.eligible_leaders_not_available, None, topic=name, partition=index))
                    continue
                new_state = replace(state, leader=leader, isr=isr, leader_epoch=state.leader_epoch + 1,
                                    partition_epoch=state.partition_epoch + 1)
            topics[name] = topic.with_partition(index, new_state)
            results.append(_result(topic=name, partition=index))
        self._commit(self._with_topics(topics))
        return results
