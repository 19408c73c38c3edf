"""Client quotas stored and described: the engine and real Kafka accept, refuse and match them alike."""

from __future__ import annotations

import uuid

from tests.engine.quota_requests import ANY, DEFAULT, EXACT, alter_quotas, describe_quotas, settled
from tests.support.kafka_cli import CONFIG_COMMAND, run_kafka_tool

INVALID_REQUEST, UNSUPPORTED_VERSION = 42, 35
# Kafka enforces quotas, and a default user's quota applies to every client of the shared
# reference broker while it is set: a rate no test can reach throttles nobody.
UNREACHABLE_RATE = 1e15


def e(**names):
    return frozenset((k.replace("_", "-"), v) for k, v in names.items())


def test_alter_client_quotas_validates_like_kafka(single_broker):
    u = f"q-{uuid.uuid4().hex[:6]}"
    results = alter_quotas(single_broker.bootstrap, [
        ({"user": f"{u}-a"}, {"producer_byte_rate": 1024.0, "request_percentage": 12.5}),
        ({"user": f"{u}-a", "client-id": f"{u}-app"}, {"consumer_byte_rate": 4096.0}),
        ({"ip": "10.1.2.3"}, {"connection_creation_rate": 10.0}),
        ({"user": f"{u}-frac"}, {"producer_byte_rate": 10.5}),
        ({"user": f"{u}-zero"}, {"consumer_byte_rate": 0.0}),
        ({"user": f"{u}-key"}, {"connection_creation_rate": 1.0}),
        ({"ip": "10.1.2.4"}, {"connection_creation_rate": 3e9}),
        ({"ip": "10.1.2.5", "user": f"{u}-x"}, {"connection_creation_rate": 1.0}),
        ({"ip": "not an ip"}, {"connection_creation_rate": 1.0}),
        ({"client-id": ""}, {"producer_byte_rate": 1.0}),
        ({"group": "g"}, {"producer_byte_rate": 1.0}),
        ({"user": f"{u}-twice"}, {"producer_byte_rate": 1.0}),
        ({"user": f"{u}-twice"}, {"consumer_byte_rate": 1.0}),  # Kafka applies the first, answers an error
        ({"user": f"{u}-partial"}, {"producer_byte_rate": 1.0, "bogus": 2.0}),  # all or nothing per entity
    ])
    assert results == {
        e(user=f"{u}-a"): (0, None),
        e(user=f"{u}-a", client_id=f"{u}-app"): (0, None),
        e(ip="10.1.2.3"): (0, None),
        e(user=f"{u}-frac"): (INVALID_REQUEST, "producer_byte_rate cannot be a fractional value."),
        e(user=f"{u}-zero"): (INVALID_REQUEST, "Quota consumer_byte_rate must be greater than 0"),
        e(user=f"{u}-key"): (INVALID_REQUEST, "Invalid configuration key connection_creation_rate"),
        e(ip="10.1.2.4"): (INVALID_REQUEST, "Proposed value for connection_creation_rate is too large for an INT."),
        e(ip="10.1.2.5", user=f"{u}-x"): (
            INVALID_REQUEST, "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId"),
        e(ip="not an ip"): (INVALID_REQUEST, "not an ip is not a valid IP or resolvable host."),
        e(client_id=""): (INVALID_REQUEST, "Empty client-id not supported"),
        e(group="g"): (INVALID_REQUEST, "Unhandled client quota entity type: group"),
        e(user=f"{u}-twice"): (INVALID_REQUEST, f"Ignoring duplicate entity ClientQuotaEntity(entries={{user={u}-twice}})"),
        e(user=f"{u}-partial"): (INVALID_REQUEST, "Invalid configuration key bogus"),
    }
    twice = {e(user=f"{u}-twice"): {"producer_byte_rate": 1.0}}
    assert settled(lambda: describe_quotas(single_broker.bootstrap, [("user", EXACT, f"{u}-twice")]), twice) == twice
    assert describe_quotas(single_broker.bootstrap, [("user", EXACT, f"{u}-partial")]) == {}

    # validate_only changes nothing; removing the last value removes the entity
    assert alter_quotas(single_broker.bootstrap, [({"user": f"{u}-v"}, {"producer_byte_rate": 5.0})],
                        validate_only=True) == {e(user=f"{u}-v"): (0, None)}
    assert describe_quotas(single_broker.bootstrap, [("user", EXACT, f"{u}-v")]) == {}
    alter_quotas(single_broker.bootstrap, [({"ip": "10.1.2.3"}, {"connection_creation_rate": None})])
    assert settled(lambda: describe_quotas(single_broker.bootstrap, [("ip", EXACT, "10.1.2.3")]), {}) == {}


def test_describe_client_quotas_matches_exact_default_and_any(single_broker):
    u = f"m-{uuid.uuid4().hex[:6]}"
    b = single_broker.bootstrap
    alter_quotas(b, [
        ({"user": u}, {"producer_byte_rate": 1000.0}),
        ({"user": None}, {"consumer_byte_rate": UNREACHABLE_RATE}),
        ({"user": u, "client-id": f"{u}-app"}, {"producer_byte_rate": 3000.0}),
        ({"user": u, "client-id": None}, {"request_percentage": 50.0}),
    ])
    mine = {e(user=u): {"producer_byte_rate": 1000.0},
            e(user=u, client_id=f"{u}-app"): {"producer_byte_rate": 3000.0},
            e(user=u, client_id=None): {"request_percentage": 50.0}}
    assert settled(lambda: describe_quotas(b, [("user", EXACT, u)]), mine) == mine
    try:
        assert describe_quotas(b, [("user", EXACT, u)], strict=True) == {e(user=u): {"producer_byte_rate": 1000.0}}
        assert describe_quotas(b, [("user", DEFAULT, None)], strict=True) == {e(user=None): {"consumer_byte_rate": UNREACHABLE_RATE}}
        assert describe_quotas(b, [("user", EXACT, u), ("client-id", DEFAULT, None)]) == {
            e(user=u, client_id=None): {"request_percentage": 50.0}}
        any_user = describe_quotas(b, [("user", ANY, None)], strict=True)  # defaults count as "any"
        assert {e(user=u), e(user=None)} <= any_user.keys()
        assert all(len(entity) == 1 for entity in any_user)
        with_clients = describe_quotas(b, [("user", ANY, None), ("client-id", ANY, None)], strict=True)
        assert {e(user=u, client_id=f"{u}-app"), e(user=u, client_id=None)} <= with_clients.keys()
        assert describe_quotas(b, [], strict=True) == {}

        assert describe_quotas(b, [("ip", ANY, None), ("user", EXACT, u)]) == (
            INVALID_REQUEST, "Invalid entity filter component combination. IP filter component should not be used "
                             "with user or clientId filter component.")
        assert describe_quotas(b, [("user", EXACT, u), ("user", DEFAULT, None)]) == (
            INVALID_REQUEST, "Entity type user cannot appear more than once in the filter.")
        assert describe_quotas(b, [("group", ANY, None)]) == (UNSUPPORTED_VERSION, "Unsupported entity type group")
        assert describe_quotas(b, [("user", EXACT, None)]) == (
            INVALID_REQUEST, "Request specified MATCH_TYPE_EXACT, but set match string to null.")
    finally:
        alter_quotas(b, [({"user": None}, {"consumer_byte_rate": None})])


def test_kafka_configs_tool_sets_a_user_and_client_quota(single_broker):
    user = f"cli-{uuid.uuid4().hex[:6]}"
    done = run_kafka_tool(CONFIG_COMMAND, "--bootstrap-server", single_broker.bootstrap, "--alter",
                          "--entity-type", "users", "--entity-name", user, "--entity-type", "clients",
                          "--entity-name", "app", "--add-config", "producer_byte_rate=1048576,request_percentage=25.5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == f"Completed updating config for user {user}."
    quotas = {e(user=user, client_id="app"): {"producer_byte_rate": 1048576.0, "request_percentage": 25.5}}
    assert settled(lambda: describe_quotas(single_broker.bootstrap, [("user", EXACT, user)]), quotas) == quotas
