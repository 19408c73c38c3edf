"""The console's connection test and cluster client against a real SASL listener (Apache Kafka 4.1,
SASL_PLAINTEXT with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512), and the connection test's handling of
the errors librdkafka reports only through its error callback."""

from __future__ import annotations

import time

import pytest

from partita.gui.services import connection_test
from partita.gui.services.cluster_client import ClusterClient, KafkaReader
from partita.gui.services.connection_test import test_connection as check_connection
from partita.gui.services.settings import SASL_MECHANISMS, ConnectionSettings
from tests.support.kafka_fixtures import SASL_USERS

from .conftest import wait_snapshot

kafka = pytest.mark.kafka
TIMEOUT = 5.0


def sasl_settings(bootstrap: str, mechanism: str, user: str = "alice", password: str | None = None) -> ConnectionSettings:
    return ConnectionSettings(
        name="sasl",
        bootstrap=bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        username=user,
        password=SASL_USERS[user] if password is None else password,
    )


# -- against Apache Kafka ---------------------------------------------------------------------------


@kafka
@pytest.mark.parametrize("mechanism", SASL_MECHANISMS)
def test_correct_password_connects(apache_kafka_sasl, mechanism):
    for user in SASL_USERS:
        r = check_connection(sasl_settings(apache_kafka_sasl.sasl_bootstrap, mechanism, user), timeout=TIMEOUT)
        assert (r.ok, r.stage) == (True, "ok"), (user, r)
        assert "1 broker" in r.message


@kafka
@pytest.mark.parametrize("mechanism", SASL_MECHANISMS)
def test_wrong_password_is_an_authentication_failure_not_a_timeout(apache_kafka_sasl, mechanism):
    t0 = time.monotonic()
    r = check_connection(
        sasl_settings(apache_kafka_sasl.sasl_bootstrap, mechanism, password="not-the-password"), timeout=TIMEOUT
    )
    elapsed = time.monotonic() - t0
    assert (r.ok, r.stage) == (False, "authentication"), r
    assert r.message.startswith("Authentication failed") and "password" in r.message
    assert "imeout" not in r.message
    assert "Authentication failed" in r.detail  # librdkafka's own words, for the operator
    if mechanism != "PLAIN":
        assert mechanism in r.detail
    assert elapsed < TIMEOUT - 1, f"took {elapsed:.1f}s: it waited for the timeout instead of reporting the failure"


def test_the_engines_sasl_listener_reports_a_wrong_password_as_kafka_does(engine_sasl):
    r = check_connection(sasl_settings(engine_sasl.sasl_bootstrap, "SCRAM-SHA-256", password="x"), timeout=TIMEOUT)
    assert (r.ok, r.stage) == (False, "authentication"), r
    assert r.message.startswith("Authentication failed") and "SCRAM-SHA-256" in r.detail


@kafka
@pytest.mark.parametrize("mechanism", SASL_MECHANISMS)
def test_unknown_user_is_an_authentication_failure(apache_kafka_sasl, mechanism):
    settings = ConnectionSettings(
        bootstrap=apache_kafka_sasl.sasl_bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        username="mallory",
        password=SASL_USERS["alice"],
    )
    r = check_connection(settings, timeout=TIMEOUT)
    assert (r.ok, r.stage) == (False, "authentication"), r


@kafka
def test_sasl_client_on_the_plaintext_listener_is_told_the_listener_has_no_sasl(apache_kafka_sasl):
    r = check_connection(sasl_settings(apache_kafka_sasl.bootstrap, "SCRAM-SHA-256"), timeout=TIMEOUT)
    assert (r.ok, r.stage) == (False, "authentication"), r
    assert "does not accept SASL" in r.message and "security protocol" in r.message


@kafka
def test_plaintext_client_on_the_sasl_listener_is_not_reported_as_success(apache_kafka_sasl):
    r = check_connection(ConnectionSettings(bootstrap=apache_kafka_sasl.sasl_bootstrap), timeout=3)
    # the listener drops a client that skips the SASL handshake; librdkafka only sees brokers down
    assert (r.ok, r.stage) == (False, "timeout"), r
    assert "security protocol" in r.message


@kafka
@pytest.mark.parametrize("mechanism", SASL_MECHANISMS)
def test_cluster_client_reads_a_snapshot_through_sasl(apache_kafka_sasl, mechanism):
    _snapshot_through_sasl(apache_kafka_sasl, mechanism)


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_cluster_client_reads_a_snapshot_through_the_engines_sasl_listener(engine_sasl, mechanism):
    _snapshot_through_sasl(engine_sasl, mechanism)


def _snapshot_through_sasl(cluster, mechanism: str) -> None:
    # the poller's path: ClusterClient over KafkaReader (confluent-kafka and kafka-python, both by SASL)
    client = ClusterClient(KafkaReader(sasl_settings(cluster.sasl_bootstrap, mechanism), timeout=5))
    try:
        s = wait_snapshot(
            client, lambda s: [b.node_id for b in s.brokers] == [1] and s.kafka_version is not None, timeout=30
        )
    finally:
        client.close()
    [broker] = s.brokers
    assert broker.alive and broker.reachable
    # Metadata on the SASL listener advertises that listener
    assert (broker.host, broker.port) == ("127.0.0.1", int(cluster.sasl_bootstrap.rsplit(":", 1)[1]))
    assert s.cluster_id and s.kafka_version.startswith("4.")
    assert broker.log_dirs, "log dirs come from kafka-python's admin client: it did not authenticate"


# -- without Kafka: what librdkafka reports, and when --------------------------------------------------


class _FakeAdmin:
    """An AdminClient whose broker rejects the password: list_topics fails as librdkafka's does, and
    the _AUTHENTICATION error reaches error_cb only from poll()."""

    instances: list[_FakeAdmin] = []

    def __init__(self, conf):
        self.conf = conf
        self.polls = 0
        self.calls: list[float] = []
        _FakeAdmin.instances.append(self)

    def list_topics(self, timeout):
        from confluent_kafka import KafkaError, KafkaException

        self.calls.append(timeout)
        time.sleep(min(timeout, 0.05))
        raise KafkaException(KafkaError(KafkaError._TRANSPORT, "Failed to get metadata: Local: Broker transport failure"))

    def poll(self, timeout):
        from confluent_kafka import KafkaError

        self.polls += 1
        if self.polls == 2:  # not on the first turn: the rejection takes a round trip
            self.conf["error_cb"](
                KafkaError(
                    KafkaError._AUTHENTICATION,
                    "sasl_plaintext://127.0.0.1:9092/bootstrap: SASL authentication error: Authentication failed "
                    "during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256 "
                    "(after 301ms in state AUTH_REQ)",
                )
            )
        return 0


def test_handshake_reports_an_error_callback_authentication_failure_before_the_timeout(monkeypatch):
    # not confluent_kafka.admin.AdminClient itself: other threads of the session (the offsets
    # retention scenario) make real clients meanwhile, and confluent's __init__ looks its class up there
    _FakeAdmin.instances.clear()
    monkeypatch.setattr(connection_test, "_new_admin", _FakeAdmin)
    t0 = time.monotonic()
    r = connection_test._kafka_handshake(sasl_settings("127.0.0.1:9092", "SCRAM-SHA-256", password="x"), timeout=10)
    assert time.monotonic() - t0 < 2
    assert (r.ok, r.stage) == (False, "authentication"), r
    assert "SCRAM-SHA-256" in r.detail
    [admin] = _FakeAdmin.instances
    assert admin.calls[0] == connection_test._SLICE_S and admin.calls[1] == 2 * connection_test._SLICE_S


def test_handshake_without_any_error_callback_still_ends_in_timeout(monkeypatch):
    class Silent(_FakeAdmin):
        def poll(self, timeout):
            return 0

    _FakeAdmin.instances.clear()
    monkeypatch.setattr(connection_test, "_new_admin", Silent)
    t0 = time.monotonic()
    r = connection_test._kafka_handshake(ConnectionSettings(bootstrap="127.0.0.1:9092"), timeout=1.0)
    assert 0.9 <= time.monotonic() - t0 < 2
    assert (r.ok, r.stage) == (False, "timeout"), r
    [admin] = _FakeAdmin.instances
    assert max(admin.calls) <= connection_test._MAX_SLICE_S


def test_sasl_handshake_failures_name_the_listener_or_the_mechanism():
    from confluent_kafka import KafkaError

    from partita.gui.services.connection_test import _classify

    no_sasl = _classify(
        None,
        [
            KafkaError(
                KafkaError._AUTHENTICATION,
                "sasl_plaintext://127.0.0.1:9092/bootstrap: SASL PLAIN mechanism handshake failed: Broker: Request "
                "not valid in current SASL state: broker's supported mechanisms:  (after 1ms in state AUTH_HANDSHAKE)",
            )
        ],
        5,
        0.3,
    )
    assert no_sasl.stage == "authentication" and "does not accept SASL" in no_sasl.message
    other = _classify(
        None,
        [
            KafkaError(
                KafkaError._AUTHENTICATION,
                "sasl_plaintext://127.0.0.1:9092/bootstrap: SASL SCRAM-SHA-512 mechanism handshake failed: Broker: "
                "Unsupported SASL mechanism: broker's supported mechanisms: PLAIN,SCRAM-SHA-256 "
                "(after 1ms in state AUTH_HANDSHAKE)",
            )
        ],
        5,
        0.3,
    )
    assert other.stage == "authentication" and other.message.endswith("it offers PLAIN,SCRAM-SHA-256")
    wrong = _classify(
        KafkaError(KafkaError._TRANSPORT, "Failed to get metadata: Local: Broker transport failure"),
        [KafkaError(KafkaError._AUTHENTICATION, "SASL authentication error: Authentication failed: Invalid username or password")],
        5,
        0.5,
    )
    assert wrong.stage == "authentication" and "user and password" in wrong.message


@kafka
@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_cluster_client_with_a_wrong_password_says_authentication_failed(apache_kafka_sasl, mechanism):
    # what the poller's banner shows: the rejected password, not "Broker transport failure"
    from partita.gui.services.cluster_client import ClusterUnreachable

    client = ClusterClient(
        KafkaReader(sasl_settings(apache_kafka_sasl.sasl_bootstrap, mechanism, password="not-the-password"), timeout=3)
    )
    try:
        with pytest.raises(ClusterUnreachable, match=r"^Authentication failed: .*SASL authentication error"):
            client.snapshot()
    finally:
        client.close()
