#!/usr/bin/env python3
"""A rolling restart under load: Partita's engine vs a real 3-broker Apache Kafka cluster, in one run.

    python bench/rolling_restart.py [--targets engine,kafka] [--how stop|kill] [--cycles 2] [--json PATH]

Each target gets 3 brokers in racks a/b/c and a topic of 6 partitions, replication factor 3,
min.insync.replicas 2. One idempotent acks=all confluent-kafka producer writes about 1,500
records/s to it while each broker in turn is stopped (--how stop: SIGTERM, which both do as a
controlled shutdown; --how kill: SIGKILL), left down for --down-s, started again, and the next
one is taken once every ISR is full again. Figures, over the whole restart:
  acked / failed   records delivered / reported failed to the application
  transport        connection errors the client reported (librdkafka's error callback)
  worst, p99       delivery latency of a record (produce() to its delivery report)
  >100 ms          records that took longer than that
  restart_s        from the first stop to the last broker back in every ISR (Kafka's includes
                   its JVM starts and its controlled shutdowns)
"""

from __future__ import annotations

import argparse
import json
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
from three_brokers import start_three_brokers, wait  # noqa: E402  (bench/, on sys.path)

TOPIC = "rolling"
PARTITIONS = 6


def in_sync(admin: AdminClient) -> bool:
    md = admin.list_topics(TOPIC, timeout=10).topics[TOPIC]
    return len(md.partitions) == PARTITIONS and all(
        len(p.isrs) == 3 and p.leader >= 0 for p in md.partitions.values())


class LoadProducer(threading.Thread):
    """Produces numbered records at a steady pace and records each one's delivery latency."""

    def __init__(self, bootstrap: str):
        super().__init__(daemon=True)
        self.bootstrap = bootstrap
        self.latencies: list[float] = []
        self.failed = 0
        self.transport_errors: list[str] = []
        self.halt = threading.Event()

    def _on_error(self, err) -> None:
        self.transport_errors.append(f"{time.monotonic():.3f} {err.str()}")

    def run(self) -> None:
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "enable.idempotence": True,
                             "linger.ms": 1, "error_cb": self._on_error, "log_level": 0})
        n = 0
        while not self.halt.is_set():
            sent = time.monotonic()

            def delivered(err, _msg, sent=sent):
                if err:
                    self.failed += 1
                else:
                    self.latencies.append(time.monotonic() - sent)

            producer.produce(TOPIC, str(n).encode(), on_delivery=delivered)
            n += 1
            producer.poll(0)
            time.sleep(0.0005)
        producer.flush(120)


def bench(target: str, how: str, cycles: int, down_s: float) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-{target}-") as tmp:
        cluster = start_three_brokers(target, Path(tmp))
        try:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3, config={"min.insync.replicas": "2"})])[TOPIC].result(60)
            wait(lambda: in_sync(admin), "topic in sync")
            load = LoadProducer(cluster.bootstrap)
            load.start()
            time.sleep(3)  # the producer's connections are up and its rate steady
            started = time.monotonic()
            events = []  # (time, what): to place the client's errors
            for _ in range(cycles):
                for node_id in list(cluster.broker_ids):
                    events.append((f"{time.monotonic():.3f}", f"{how} {node_id}"))
                    cluster.stop(node_id) if how == "stop" else cluster.kill(node_id)
                    events.append((f"{time.monotonic():.3f}", f"{node_id} down"))
                    time.sleep(down_s)
                    cluster.start(node_id)
                    events.append((f"{time.monotonic():.3f}", f"{node_id} started"))
                    wait(lambda: in_sync(admin), f"broker {node_id} back in every ISR")
                    events.append((f"{time.monotonic():.3f}", f"{node_id} in sync"))
            restart_s = time.monotonic() - started
            time.sleep(2)
            load.halt.set()
            load.join(180)
        finally:
            cluster.close()
    lat = sorted(load.latencies)
    return {"how": how, "acked": len(lat), "failed": load.failed, "transport": len(load.transport_errors),
            "transport_errors": load.transport_errors, "events": events,
            "worst_ms": round(lat[-1] * 1000) if lat else None,
            "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000) if lat else None,
            "over_100ms": sum(1 for x in lat if x > 0.1), "restart_s": round(restart_s, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default="engine,kafka")
    parser.add_argument("--how", default="stop", choices=["stop", "kill"])
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--down-s", type=float, default=1.0)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    results = {t: bench(t, args.how, args.cycles, args.down_s) for t in args.targets.split(",")}
    print(f"{'target':<8} {'how':<5} {'acked':>7} {'failed':>7} {'transport':>10} {'worst ms':>9} {'p99 ms':>7}"
          f" {'>100 ms':>8} {'restart s':>10}")
    for t, r in results.items():
        print(f"{t:<8} {r['how']:<5} {r['acked']:>7} {r['failed']:>7} {r['transport']:>10} {r['worst_ms']:>9}"
              f" {r['p99_ms']:>7} {r['over_100ms']:>8} {r['restart_s']:>10}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
