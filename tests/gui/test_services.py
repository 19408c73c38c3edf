"""Services without a cluster: poller timing, settings, profiles and keyring, assembly, connection test."""

from __future__ import annotations

import socket
import threading

import keyring
import pytest
from keyring.backend import KeyringBackend

from partita.gui.services import connection_test, profiles
from partita.gui.services.cluster_client import RawCluster, RawGroup, RawLogDir, assemble
from partita.gui.services.poller import Poller
from partita.gui.services.settings import ConnectionSettings, confluent_config, kafka_python_config


class MemoryKeyring(KeyringBackend):
    """A file-free keyring for tests."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    before = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(before)


# -- poller ------------------------------------------------------------------------------------


def test_poller_backs_off_exponentially_and_resets_on_success():
    p = Poller(lambda: None, interval=5, first_retry=1, max_backoff=8)
    assert [p.delay_after(n) for n in range(6)] == [5, 1, 2, 4, 8, 8]


def test_poller_reports_failures_then_recovers():
    outcomes = iter([RuntimeError("down"), RuntimeError("down"), "snap"])

    def fetch():
        o = next(outcomes)
        if isinstance(o, Exception):
            raise o
        return o

    p = Poller(fetch, interval=5, first_retry=1, clock=lambda: 42.0)
    got, failed = [], []
    assert p.poll_once(got.append, failed.append) == 1
    assert p.poll_once(got.append, failed.append) == 2
    assert [(f.reason, f.failures, f.since) for f in failed] == [("down", 1, 42.0), ("down", 2, 42.0)]
    assert p.poll_once(got.append, failed.append) == 5
    assert got == ["snap"] and p.failures == 0


def test_poller_stops_promptly_and_refreshes_on_demand():
    calls = []
    p = Poller(lambda: calls.append(1) or len(calls), interval=60)
    seen = threading.Event()
    t = threading.Thread(target=p.run, args=(lambda r: seen.set(), lambda f: None))
    t.start()
    assert seen.wait(5)
    seen.clear()
    p.refresh_now()
    assert seen.wait(5)
    assert len(calls) == 2
    p.stop()
    t.join(2)
    assert not t.is_alive()


# -- settings ----------------------------------------------------------------------------------


def test_client_configs_for_sasl_ssl():
    s = ConnectionSettings(
        name="prod",
        bootstrap="k1:9093,k2:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        username="ops",
        password="pw",
        ssl_ca="/ca.pem",
    )
    c = confluent_config(s)
    assert c["sasl.mechanism"] == "SCRAM-SHA-512" and c["sasl.password"] == "pw" and c["ssl.ca.location"] == "/ca.pem"
    k = kafka_python_config(s)
    assert k["bootstrap_servers"] == ["k1:9093", "k2:9093"] and k["sasl_plain_username"] == "ops"
    assert "pw" not in repr(s)
    with pytest.raises(ValueError, match="HOST:PORT"):
        ConnectionSettings(bootstrap="nohost").validate()
    with pytest.raises(ValueError, match="mechanism"):
        ConnectionSettings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="GSSAPI").validate()


# -- profiles and keyring ----------------------------------------------------------------------


def test_profile_password_goes_to_keyring_and_nowhere_in_data_dir(tmp_path, monkeypatch, memory_keyring):
    monkeypatch.setenv("PARTITA_DATA_DIR", str(tmp_path))
    secret = "s3cr3t-Pa55word-xyz"
    keypass = "k3y-pa55phrase-abc"
    store = profiles.ProfileStore()
    store.save(
        ConnectionSettings(
            name="prod",
            bootstrap="k1:9093",
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-256",
            username="ops",
            password=secret,
            ssl_key_password=keypass,
            zookeeper="zk1:2181",
        )
    )
    loaded = profiles.ProfileStore().load("prod")
    assert loaded.password == secret and loaded.ssl_key_password == keypass and loaded.zookeeper == "zk1:2181"
    assert profiles.ProfileStore().load("prod", with_secrets=False).password == ""
    assert memory_keyring.store[("partita", "prod:password")] == secret
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files, "the profile store wrote nothing"
    for f in files:
        data = f.read_bytes()
        for s in (secret, keypass):
            assert s.encode() not in data, f"{s} found in {f}"
            assert s.encode("utf-16-le") not in data
    assert store.names() == ["prod"]
    store.delete("prod")
    assert store.names() == [] and not memory_keyring.store


def test_no_keyring_backend_gives_clear_message_and_writes_nothing(tmp_path, monkeypatch):
    from keyring.backends import fail

    monkeypatch.setenv("PARTITA_DATA_DIR", str(tmp_path))
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        assert "No OS keyring" in profiles.keyring_problem()
        store = profiles.ProfileStore()
        with pytest.raises(profiles.NoKeyringError, match="never writes them to a file"):
            store.save(ConnectionSettings(name="x", bootstrap="h:1", security_protocol="SASL_PLAINTEXT", password="pw1234567"))
        assert store.names() == []
        store.save(ConnectionSettings(name="plain", bootstrap="h:1"))  # no secret: fine without a keyring
        assert store.names() == ["plain"]
        for f in tmp_path.rglob("*"):
            if f.is_file():
                assert b"pw1234567" not in f.read_bytes()
    finally:
        keyring.set_keyring(before)


# -- assembly ----------------------------------------------------------------------------------


def raw(nodes=((1, "h", 1, "a"), (2, "h", 2, "b"))):
    return RawCluster(
        bootstrap="h:1",
        cluster_id="c",
        controller_id=1,
        nodes=list(nodes),
        topics={"t": {0: (1, [1, 2], [1, 2], []), 1: (2, [2, 1], [2], [])}},
        min_isr={"t": 2},
        start_offsets={("t", 0): 0},
        end_offsets={("t", 0): 10, ("t", 1): 5},
        log_dirs={
            1: [RawLogDir("/d1", None, {("t", 0): 100, ("t", 1): 50})],
            2: [RawLogDir("/d2", None, {("t", 0): 90, ("t", 1): 60}), RawLogDir("/bad", "error 57", {})],
        },
        groups=[RawGroup("g", "Stable", "consumer", "range", 1, [("m", None, "c", "/h", [("t", 0)])], {("t", 0): 4})],
    )


def test_assemble_builds_snapshot_with_sizes_from_leader_replica():
    s = assemble(raw(), taken_at=1.0)
    p0, p1 = s.topics[0].partitions
    assert (p0.size_bytes, p1.size_bytes) == (100, 60)
    assert (p0.end_offset, p1.start_offset) == (10, None)
    assert s.brokers_by_id[2].log_dirs[1].error == "error 57"
    assert s.brokers_by_id[1].size_bytes == 150
    assert s.groups[0].members[0].assignment == (("t", 0),)
    assert s.topics[0].min_insync_replicas == 2


def test_assemble_lists_replicas_moving_into_a_log_dir_apart_from_its_size():
    r = raw()
    r.log_dirs[1].append(RawLogDir("/d1b", None, {}, future_sizes={("t", 1): 20, ("t", 0): 30}))
    s = assemble(r, taken_at=1.0)
    d1, d1b = s.brokers_by_id[1].log_dirs
    assert (d1.size_bytes, d1.moving_in) == (150, ())
    assert (d1b.size_bytes, d1b.moving_in) == (0, (("t", 0, 30), ("t", 1, 20)))
    assert s.brokers_by_id[1].size_bytes == 150  # a copy in progress is not counted twice


def test_assemble_keeps_vanished_brokers_as_down_with_their_rack():
    first = assemble(raw(), taken_at=1.0)
    second = assemble(raw(nodes=[(1, "h", 1, "a")]), taken_at=2.0, known_brokers=first.brokers_by_id)
    b2 = second.brokers_by_id[2]
    assert (b2.alive, b2.rack, b2.port) == (False, "b", 2)
    # a replica on a broker never seen still shows as a down broker
    r = raw(nodes=[(1, "h", 1, "a")])
    assert assemble(r, taken_at=1.0).brokers_by_id[2].alive is False


# -- connection test ---------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_test_names_dns_failure():
    r = connection_test.test_connection(ConnectionSettings(bootstrap="no-such-host.invalid:9092"), timeout=2)
    assert (r.ok, r.stage) == (False, "DNS") and "no-such-host.invalid" in r.message


def test_connection_test_names_refused_port():
    r = connection_test.test_connection(ConnectionSettings(bootstrap=f"127.0.0.1:{free_port()}"), timeout=2)
    assert (r.ok, r.stage) == (False, "refused")


def test_connection_test_names_tls_failure_on_plain_listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]

    def serve():
        conn, _ = srv.accept()
        conn.recv(1024)
        conn.sendall(b"HTTP/1.0 400 no\r\n\r\n")
        conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        r = connection_test.test_connection(
            ConnectionSettings(bootstrap=f"127.0.0.1:{port}", security_protocol="SSL"), timeout=2
        )
    finally:
        srv.close()
    assert (r.ok, r.stage) == (False, "TLS")


def test_connection_test_names_timeout_on_silent_listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    try:
        r = connection_test.test_connection(ConnectionSettings(bootstrap=f"127.0.0.1:{port}"), timeout=2)
    finally:
        srv.close()
    assert (r.ok, r.stage) == (False, "timeout")


def test_kafka_handshake_failures_are_classified():
    from confluent_kafka import KafkaError

    from partita.gui.services.connection_test import _classify

    auth = _classify(KafkaError(KafkaError._AUTHENTICATION, "SASL authentication error: Authentication failed"), [], 5, 1)
    assert auth.stage == "authentication" and "password" in auth.message
    scram = _classify(None, [KafkaError(KafkaError.SASL_AUTHENTICATION_FAILED, "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256")], 5, 1)
    assert scram.stage == "authentication"
    tls = _classify(KafkaError(KafkaError._SSL, "SSL handshake failed: certificate verify failed"), [], 5, 1)
    assert tls.stage == "TLS"
    slow = _classify(KafkaError(KafkaError._TIMED_OUT, "Local: Timed out"), [], 5, 5.1)
    assert slow.stage == "timeout" and "security protocol" in slow.message


def test_live_broker_the_console_cannot_reach_is_marked_unreachable():
    from partita.gui.domain import health, tables

    r = raw()
    r.unreachable = [2]
    s = assemble(r, taken_at=1.0)
    assert s.brokers_by_id[2].alive and not s.brokers_by_id[2].reachable
    assert health.health_counts(s).brokers_unreachable == 1
    assert [row[4] for row in tables.brokers_table(s).rows] == ["up", "UNREACHABLE"]
    assert dict(tables.overview_table(s).rows)["Brokers unreachable from here"] == 1
