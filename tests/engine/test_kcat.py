"""kcat (librdkafka 2.0 from Debian) lists, produces and consumes against the engine."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from tests.engine.helpers import create_topic

KCAT = shutil.which("kcat")


@pytest.fixture(scope="module")
def kcat():
    assert KCAT, "kcat is not installed: scripts/install --test installs it"
    return KCAT


def test_kcat_metadata_listing(kcat, engine):
    topic = f"kcat-list-{uuid.uuid4().hex[:6]}"
    create_topic(engine, topic, partitions=2)
    out = subprocess.run([kcat, "-b", engine.bootstrap, "-L", "-t", topic], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert "1 brokers:" in out
    assert f'topic "{topic}" with 2 partitions' in out
    assert "leader 1, replicas: 1, isrs: 1" in out


def test_kcat_produce_then_consume(kcat, engine):
    topic = f"kcat-{uuid.uuid4().hex[:6]}"
    lines = "".join(f"k{i}:line {i}\n" for i in range(100))
    subprocess.run([kcat, "-b", engine.bootstrap, "-P", "-t", topic, "-K:", "-z", "snappy"], input=lines,
                   text=True, timeout=30, check=True)
    out = subprocess.run([kcat, "-b", engine.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                          "-f", "%k=%s@%o\n"], capture_output=True, text=True, timeout=30, check=True).stdout
    assert out.splitlines() == [f"k{i}=line {i}@{i}" for i in range(100)]
