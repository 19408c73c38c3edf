"""Connection dialog (profiles, keyring, Test connection) and the stepwise freeing of old data."""

from __future__ import annotations

import gc
import socket
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


def big_table(probe):
    from partita.gui.domain import tables as T

    rows = [(i, f"t{i}") for i in range(20000)] + [(probe,)]
    return T.Table((T.Column("a"),), list(range(len(rows))), rows)


def test_dismantler_frees_a_big_graph_in_short_steps():
    probe = Thing()
    ref = weakref.ref(probe)
    d = reaper.Dismantler()
    d.add({"view": big_table(probe), "nested": [list(range(5000)) for _ in range(3)]})
    del probe
    steps = 0
    while d.step(0.0005):  # half a millisecond per step: many steps, each short
        steps += 1
        assert steps < 10000
    assert steps > 10 and not d.busy
    gc.collect()
    assert ref() is None


def test_dismantler_leaves_shared_objects_alone():
    shared = list(range(10000))
    d = reaper.Dismantler()
    d.add({"x": shared, "pad": list(range(1000))})
    while d.step(0.01):
        pass
    assert len(shared) == 10000


def test_gui_reaper_frees_on_the_gui_thread_between_events(qtbot):
    from partita.gui.qt import stepwise

    probe = Thing()
    ref = weakref.ref(probe)
    stepwise.dispose(big_table(probe))
    del probe
    assert ref() is not None  # nothing freed inside dispose(): it happens in later event-loop turns
    qtbot.waitUntil(lambda: ref() is None, timeout=5000)
