from __future__ import annotations

import os
import time
import uuid

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def wait_snapshot(client, predicate, timeout=60.0, interval=0.5):
    """Refresh until predicate(snapshot) holds; returns that snapshot."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = client.snapshot()
            if predicate(last):
                return last
        except Exception as e:  # noqa: BLE001 - keep trying until the deadline
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last: {last!r}")
        time.sleep(interval)


@pytest.fixture
def connected_window(qtbot):
    """connected_window(cluster): a main window refreshing twice a second from `cluster`, its
    first data in; closed at the end of the test."""
    from partita.gui.qt.main_window import MainWindow
    from partita.gui.services.settings import ConnectionSettings

    made = []

    def connect(cluster):
        window = MainWindow(interval=0.5, request_timeout=4.0, max_backoff=1.0)
        qtbot.addWidget(window)
        window.show()
        made.append(window)
        with qtbot.waitSignal(window.first_data_arrived, timeout=30000):
            window.connect_to(ConnectionSettings(bootstrap=cluster.bootstrap))
        return window

    yield connect
    for window in made:
        window.close()


@pytest.fixture
def topic_name():
    return f"console-{uuid.uuid4().hex[:8]}"


def create_topic(bootstrap, name, partitions=6, rf=3, config=None):
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, rf, config=config or {})])[name].result(30)


def produce(bootstrap, topic, n, partitions=None):
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(n):
        if partitions is None:
            p.produce(topic, f"m{i}".encode(), key=str(i).encode())
        else:
            p.produce(topic, f"m{i}".encode(), partition=i % partitions)
    assert p.flush(30) == 0


def consume_and_commit(bootstrap, topic, group, n, timeout=60, group_protocol="classic"):
    """Consume n messages in group and commit synchronously; returns the consumer (still in the group).
    group_protocol "consumer": the KIP-848 protocol (the broker assigns)."""
    from confluent_kafka import Consumer

    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "client.id": f"{group}-client",
            "group.protocol": group_protocol,
        }
    )
    c.subscribe([topic])
    got = 0
    deadline = time.monotonic() + timeout
    while got < n and time.monotonic() < deadline:
        for m in c.consume(num_messages=min(500, n - got), timeout=1):
            if not m.error():
                got += 1
    assert got == n, f"consumed {got} of {n}"
    c.commit(asynchronous=False)
    return c


def pytest_collection_modifyitems(config, items):
    # the offscreen platform warns on every top-level show(); it says nothing about our code
    for item in items:
        if "tests/gui/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints"))
