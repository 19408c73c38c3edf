#!/usr/bin/env python3
"""Readiness and failover: Partita's engine vs a real 3-broker Apache Kafka cluster, in one run.

    python bench/cluster_failover.py [--targets engine,kafka] [--kills 3] [--json PATH]

For each target, three figures:
  ready_s      from the start command to the first record acknowledged (acks=all) on a new
               RF3 topic: what "a cluster ready for produce" means to a developer
  failover_s   from SIGKILL of a partition's leader to the first acknowledgement of a record sent
               after the kill, while one producer (acks=all, idempotent) writes continuously
               (answers already on their way at the kill do not count); median over --kills
  lost         acknowledged records missing afterwards (must be 0)
Both clusters have 3 brokers in racks a/b/c on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from tests.engine.helpers import consume  # noqa: E402

RACKS = ["a", "b", "c"]


def first_ack(bootstrap: str, topic: str, timeout: float = 120.0) -> None:
    """Create an RF3 topic and wait for one acks=all record to be acknowledged."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin.create_topics([NewTopic(topic, 1, 3)])[topic].result(10)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0})
    acked = []
    while not acked:
        producer.produce(topic, b"ready", on_delivery=lambda err, msg: acked.append(err) if not err else None)
        producer.flush(5)
        if time.monotonic() > deadline:
            raise TimeoutError("no acknowledged record")


def start_engine(workdir: Path):
    from tests.support.engine_cluster import EngineCluster

    return EngineCluster(workdir, brokers=3, racks=RACKS, log_dirs=1)


def start_kafka(workdir: Path):
    from tests.support.apache_kafka import KafkaCluster

    cluster = KafkaCluster(brokers=3, racks=tuple(RACKS), log_dirs=1, workdir=workdir)
    cluster.__enter__()
    return cluster


def measure_failovers(cluster, topic: str, kills: int) -> tuple[list[float], int]:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 3, config={"min.insync.replicas": "2"})])[topic].result(30)
    acks: list[tuple[float, int]] = []
    sent: dict[int, float] = {}
    stop = threading.Event()

    def loop():
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True,
                             "linger.ms": 1, "message.timeout.ms": 120000})
        n = 0
        while not stop.is_set():
            sent[n] = time.monotonic()
            producer.produce(topic, str(n).encode(), partition=0,
                             on_delivery=lambda err, msg: acks.append((time.monotonic(), int(msg.value())))
                             if not err else None)
            n += 1
            producer.poll(0)
            time.sleep(0.001)
        producer.flush(120)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    times = []
    try:
        time.sleep(1.0)
        for _ in range(kills):
            md = admin.list_topics(topic, timeout=10).topics[topic].partitions[0]
            leader = md.leader
            killed_at = time.monotonic()
            cluster.kill(leader)
            def fresh(since=killed_at):
                return [t for t, v in acks[-2000:] if sent[v] > since]

            while not fresh():
                if time.monotonic() - killed_at > 60:
                    raise TimeoutError("no acknowledgement within 60 s of the kill")
                time.sleep(0.001)
            times.append(min(fresh()) - killed_at)
            cluster.start(leader)
            deadline = time.monotonic() + 120
            while len(admin.list_topics(topic, timeout=10).topics[topic].partitions[0].isrs) < 3:
                if time.monotonic() > deadline:
                    raise TimeoutError("killed broker did not rejoin the ISR")
                time.sleep(0.2)
            # Let the producer settle back (reconnect, resume normal batching) before the next
            # kill: librdkafka backs off reconnecting to a broker that failed repeatedly, which
            # back-to-back kills of the same brokers would measure instead of the failover.
            time.sleep(3.0)
    finally:
        stop.set()
        thread.join(180)
    acked = {v for _, v in acks}
    got = {int(m.value()) for m in consume(cluster, topic, len(acked), timeout=120)}
    return times, len(acked - got)


def bench(target: str, kills: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-{target}-") as tmp:
        started = time.monotonic()
        cluster = (start_engine if target == "engine" else start_kafka)(Path(tmp))
        try:
            first_ack(cluster.bootstrap, "ready")
            ready = time.monotonic() - started
            times, lost = measure_failovers(cluster, "failover", kills)
        finally:
            cluster.close()
    return {"ready_s": round(ready, 3), "failover_s": round(statistics.median(times), 3),
            "failover_all_s": [round(t, 3) for t in times], "lost": lost}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default="engine,kafka")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    results = {t: bench(t, args.kills) for t in args.targets.split(",")}
    print(f"{'target':<8} {'ready (s)':>10} {'failover median (s)':>20} {'lost':>5}  all failovers (s)")
    for t, r in results.items():
        print(f"{t:<8} {r['ready_s']:>10.3f} {r['failover_s']:>20.3f} {r['lost']:>5}  {r['failover_all_s']}")
    if "engine" in results and "kafka" in results:
        e, k = results["engine"], results["kafka"]
        print(f"engine/kafka: ready {e['ready_s'] / k['ready_s']:.2f}x, failover {e['failover_s'] / k['failover_s']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
