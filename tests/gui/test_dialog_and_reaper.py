"""Connection dialog (profiles, keyring, Test connection) and the off-thread freeing of old data."""

from __future__ import annotations

import gc
import socket
import time
import weakref

import keyring
import pytest

from partita.gui.qt.bridge import TaskRunner
from partita.gui.qt.connection_dialog import ConnectionDialog
from partita.gui.services import profiles, reaper

from .test_services import MemoryKeyring


@pytest.fixture
def tasks(qtbot):
    t = TaskRunner()
    yield t
    t.stop()


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("PARTITA_DATA_DIR", str(tmp_path))
    before = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield profiles.ProfileStore()
    keyring.set_keyring(before)


def test_dialog_saves_profile_with_password_in_keyring_only_and_loads_it_back(qtbot, tasks, store, tmp_path):
    dlg = ConnectionDialog(tasks, store)
    qtbot.addWidget(dlg)
    dlg.name.setText("prod")
    dlg.bootstrap.setText("kafka-1.example:9094")
    dlg.protocol.setCurrentText("SASL_SSL")
    assert dlg.username.isEnabled() and dlg.ca.isEnabled()
    dlg.mechanism.setCurrentText("SCRAM-SHA-512")
    dlg.username.setText("operator")
    secret = "Tr0ub4dor&3-horse-staple"
    dlg.password.setText(secret)
    dlg.ca.setText("/etc/ssl/ca.pem")
    dlg.zookeeper.setText("zk-1.example:2181")
    with qtbot.waitSignal(dlg.saved, timeout=10000):
        dlg.save_profile()
    assert "keyring" in dlg.result.text()
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f

    other = ConnectionDialog(tasks, store)
    qtbot.addWidget(other)
    qtbot.waitUntil(lambda: other.profile.findText("prod") >= 0, timeout=10000)
    other.profile.setCurrentText("prod")
    qtbot.waitUntil(lambda: other.password.text() == secret, timeout=10000)
    s = other.settings()
    assert (s.security_protocol, s.sasl_mechanism, s.username, s.ssl_ca, s.zookeeper) == (
        "SASL_SSL",
        "SCRAM-SHA-512",
        "operator",
        "/etc/ssl/ca.pem",
        "zk-1.example:2181",
    )


def test_dialog_plaintext_disables_sasl_and_tls_fields(qtbot, tasks):
    dlg = ConnectionDialog(tasks, None)
    qtbot.addWidget(dlg)
    dlg.protocol.setCurrentText("PLAINTEXT")
    assert not dlg.username.isEnabled() and not dlg.password.isEnabled() and not dlg.cert.isEnabled()
    dlg.protocol.setCurrentText("SSL")
    assert dlg.cert.isEnabled() and not dlg.password.isEnabled()


def test_dialog_test_connection_says_what_failed(qtbot, tasks):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dlg = ConnectionDialog(tasks, None)
    qtbot.addWidget(dlg)
    dlg.bootstrap.setText(f"127.0.0.1:{port}")
    with qtbot.waitSignal(dlg.test_finished, timeout=15000) as sig:
        dlg.run_test()
    result = sig.args[0]
    assert not result.ok and result.stage == "refused"
    assert "refused" in dlg.result.text()
    dlg.bootstrap.setText("no-such-host.invalid:9092")
    with qtbot.waitSignal(dlg.test_finished, timeout=15000) as sig:
        dlg.run_test()
    assert sig.args[0].stage == "DNS" and "DNS" in dlg.result.text()


class Thing:
    pass


def test_reaper_frees_big_graphs_off_the_calling_thread():
    from partita.gui.domain import tables as T

    probe = Thing()
    ref = weakref.ref(probe)
    rows = [(i, f"t{i}") for i in range(20000)] + [(probe,)]
    table = T.Table((T.Column("a"),), list(range(len(rows))), rows)
    del probe, rows
    reaper.dispose(table)
    del table
    deadline = time.monotonic() + 10
    while ref() is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    gc.collect()
    assert ref() is None


def test_reaper_leaves_shared_objects_alone():
    shared = list(range(10000))
    reaper.dispose({"x": shared, "pad": list(range(1000))})
    time.sleep(0.2)
    assert len(shared) == 10000
