#!/usr/bin/env python3
"""Screenshots of every console view for the README, from a real local cluster with traffic.

    python bench/console_screenshots.py [--out resources/screenshots] [--kill-broker 3]

Starts the local engine cluster "console-demo" (3 brokers, racks a/b/c), creates a few topics,
keeps producing, runs three consumer groups (one falling behind, one a KIP-848 group), optionally kills a broker so
the views show a degraded cluster, then runs `partita --local console-demo --screenshot OUT`
and stops the cluster.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TOPICS = {"orders": (12, 3), "payments": (6, 3), "clicks": (24, 2), "audit-log": (3, 3)}
GROUPS = {"billing": "orders", "fraud-detector": "payments", "clickstream-etl": "clicks"}
KIP848_GROUPS = {"clickstream-etl"}  # group.protocol=consumer: the broker assigns


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=REPO / "resources" / "screenshots")
    ap.add_argument("--kill-broker", type=int, default=3, help="broker to kill before the shots (0: none)")
    ap.add_argument("--name", default="console-demo")
    args = ap.parse_args()

    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    from partita.engine.cluster import launcher

    cluster_dir = launcher.default_cluster_dir(args.name)
    info = launcher.up(cluster_dir, brokers=3, racks=("a", "b", "c"), log_dirs=2)
    bootstrap = info.bootstrap_servers
    print("cluster", bootstrap, flush=True)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = [
        NewTopic(t, p, rf, config={"min.insync.replicas": "2"} if rf == 3 else {})
        for t, (p, rf) in TOPICS.items()
    ]
    for t, f in admin.create_topics(new).items():
        try:
            f.result(30)
        except Exception as e:
            print("topic", t, e)

    stop = threading.Event()

    def produce():
        p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "1"})
        i = 0
        while not stop.is_set():
            for t in TOPICS:
                for _ in range(40 if t != "audit-log" else 2):
                    p.produce(t, f"event-{i}".encode(), key=str(i % 97).encode())
                    i += 1
            p.poll(0)
            time.sleep(0.05)
        p.flush(10)

    def consume(group: str, topic: str, slow: bool):
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                      "client.id": f"{group}-1",
                      "group.protocol": "consumer" if group in KIP848_GROUPS else "classic"})
        c.subscribe([topic])
        while not stop.is_set():
            c.consume(num_messages=20 if slow else 500, timeout=0.5)
            if slow:
                time.sleep(0.5)
        c.close()

    threads = [threading.Thread(target=produce, daemon=True)]
    for g, t in GROUPS.items():
        threads.append(threading.Thread(target=consume, args=(g, t, g == "billing"), daemon=True))
    for th in threads:
        th.start()
    time.sleep(8)
    # this run's history only (the History view), not the user's own
    import tempfile

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               PARTITA_DATA_DIR=tempfile.mkdtemp(prefix="console-screenshots-data-"))
    console = subprocess.Popen(
        [sys.executable, "-m", "partita.gui.app", "--local", args.name, "--screenshot", str(args.out),
         "--interval", "1", "--screenshot-wait", "16"],
        env=env,
    )
    time.sleep(8)  # the console has seen the healthy cluster: now break it
    if args.kill_broker:
        launcher.kill_broker(cluster_dir, args.kill_broker)
        print("killed broker", args.kill_broker, flush=True)
    r = console.wait(timeout=120)
    stop.set()
    time.sleep(1)
    launcher.stop(cluster_dir)
    return r


if __name__ == "__main__":
    sys.exit(main())
