"""Client quotas as Kafka's KRaft controller keeps them: validation, alteration and matching.

An entity is a set of (type, name) pairs over the types `user`, `client-id` and `ip`; a
name of None is that type's default entity. Users and client ids (alone or together)
take producer_byte_rate, consumer_byte_rate (whole numbers), request_percentage and
controller_mutation_rate; an IP address, alone, takes connection_creation_rate (a whole
number). Checks and messages follow Kafka 4.1's ClientQuotaControlManager and
ClientQuotasImage.describe, quirks included: a quota key given twice in one entry, or an
entity given twice in one request, makes that entity's answer "Ignoring duplicate
entity …" (the first entry of a repeated entity is still applied, as in Kafka).
Deviation: an IP entity name must be an IP address literal; Kafka also accepts a host
name it can resolve, the engine resolves no names.

Pure functions over plain dicts: the controller owns the state and persists it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

USER, CLIENT_ID, IP = "user", "client-id", "ip"
ENTITY_TYPES = (USER, CLIENT_ID, IP)

_LONG_MAX = float(2**63 - 1)  # compared as Java compares a double with Long.MAX_VALUE
_INT_MAX = float(2**31 - 1)
# quota key -> Kafka's ConfigDef type
USER_AND_CLIENT_KEYS = {"producer_byte_rate": "LONG", "consumer_byte_rate": "LONG",
                        "request_percentage": "DOUBLE", "controller_mutation_rate": "DOUBLE"}
IP_KEYS = {"connection_creation_rate": "INT"}

Entity = tuple[tuple[str, str | None], ...]  # sorted by type


class QuotaError(Exception):
    """A refused alteration or filter: Kafka's error code and message."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


INVALID_REQUEST, UNSUPPORTED_VERSION = 42, 35


def entity_key(pairs: Iterable[tuple[str, str | None]]) -> Entity:
    """The canonical entity for (type, name) pairs; a type given twice keeps its last name, as Kafka's map does."""
    return tuple(sorted(dict(pairs).items()))


def _check_entity(entity: Entity) -> dict[str, str]:
    if not entity:
        raise QuotaError(INVALID_REQUEST, "Invalid empty client quota entity")
    for kind, name in entity:
        if kind not in ENTITY_TYPES:
            raise QuotaError(INVALID_REQUEST, f"Unhandled client quota entity type: {kind}")
        if name is not None and not name:
            raise QuotaError(INVALID_REQUEST, f"Empty {kind} not supported")
        if kind == IP and name is not None:
            try:
                ipaddress.ip_address(name)
            except ValueError:
                raise QuotaError(INVALID_REQUEST, f"{name} is not a valid IP or resolvable host.") from None
    kinds = {kind for kind, _ in entity}
    if IP in kinds and len(kinds) > 1:
        raise QuotaError(INVALID_REQUEST,
                         "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId")
    return IP_KEYS if IP in kinds else USER_AND_CLIENT_KEYS


def _check_value(keys: dict[str, str], key: str, value: float) -> None:
    kind = keys.get(key)
    if kind is None:
        raise QuotaError(INVALID_REQUEST, f"Invalid configuration key {key}")
    if value <= 0.0:
        raise QuotaError(INVALID_REQUEST, f"Quota {key} must be greater than 0")
    if kind == "DOUBLE":
        return
    limit, article = (_LONG_MAX, "a LONG") if kind == "LONG" else (_INT_MAX, "an INT")
    if value > limit:
        raise QuotaError(INVALID_REQUEST, f"Proposed value for {key} is too large for {article}.")
    if value % 1.0 > 1e-16:
        raise QuotaError(INVALID_REQUEST, f"{key} cannot be a fractional value.")


def _describe_entity(entity: Entity) -> str:
    return "ClientQuotaEntity(entries={" + ", ".join(f"{k}={n}" for k, n in entity) + "})"


def alter(quotas: dict[Entity, dict[str, float]], entries: list[tuple[Entity, list[tuple[str, float | None]]]]
          ) -> tuple[dict[Entity, dict[str, float]], list[tuple[Entity, QuotaError | None]]]:
    """Apply `entries` (entity, [(key, value or None to remove)]) to a copy of `quotas`.

    Returns the new quotas (entities left without values are dropped) and one result per
    distinct entity, in first-seen order."""
    new = {entity: dict(values) for entity, values in quotas.items()}
    results: dict[Entity, QuotaError | None] = {}
    for entity, ops in entries:
        changes: dict[str, float | None] = {}
        duplicate_key = False
        for key, value in ops:
            if key in changes:
                duplicate_key = True
            else:
                changes[key] = value
        if duplicate_key or entity in results:
            results[entity] = QuotaError(INVALID_REQUEST, f"Ignoring duplicate entity {_describe_entity(entity)}")
            continue
        try:
            keys = _check_entity(entity)
            for key, value in changes.items():
                if value is not None:
                    _check_value(keys, key, value)
        except QuotaError as exc:
            results[entity] = exc
            continue
        values = new.setdefault(entity, {})
        for key, value in changes.items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        if not values:
            del new[entity]
        results[entity] = None
    return new, list(results.items())


MATCH_EXACT, MATCH_DEFAULT, MATCH_ANY = 0, 1, 2


def describe(quotas: dict[Entity, dict[str, float]], components: list[tuple[str, int, str | None]],
             strict: bool) -> list[tuple[Entity, dict[str, float]]]:
    """The entities matching the filter `components` [(type, match type, match)], as Kafka matches them."""
    exact: dict[str, str | None] = {}
    any_of: set[str] = set()
    for _kind, match_type, match in components:
        if match_type == MATCH_EXACT and match is None:
            raise QuotaError(INVALID_REQUEST, "Request specified MATCH_TYPE_EXACT, but set match string to null.")
        if match_type not in (MATCH_EXACT, MATCH_DEFAULT, MATCH_ANY):
            raise QuotaError(INVALID_REQUEST, f"Unknown match type {match_type}")
    for kind, match_type, match in components:
        if not kind:
            raise QuotaError(INVALID_REQUEST, "Invalid empty entity type.")
        if kind in exact or kind in any_of:
            raise QuotaError(INVALID_REQUEST, f"Entity type {kind} cannot appear more than once in the filter.")
        if kind not in ENTITY_TYPES:
            raise QuotaError(UNSUPPORTED_VERSION, f"Unsupported entity type {kind}")
        if match_type == MATCH_ANY:
            any_of.add(kind)
        else:
            exact[kind] = match if match_type == MATCH_EXACT else None
    named = exact.keys() | any_of
    if IP in named and (USER in named or CLIENT_ID in named):
        raise QuotaError(INVALID_REQUEST, "Invalid entity filter component combination. IP filter component "
                                          "should not be used with user or clientId filter component.")
    out = []
    for entity, values in quotas.items():
        names = dict(entity)
        if strict and len(names) != len(exact) + len(any_of):
            continue
        if all(kind in names and names[kind] == name for kind, name in exact.items()) and any_of <= names.keys():
            out.append((entity, values))
    return out
