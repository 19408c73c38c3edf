#!/usr/bin/env python3
"""A broker's return on a cluster with many partitions: Partita's engine vs a real 3-broker Apache
Kafka cluster, in one run.

    python bench/restart_at_scale.py [--targets engine,kafka] [--topics 150] [--json PATH]

Each target gets 3 brokers in racks a/b/c and --topics topics of 6 partitions, replication factor 3,
created 50 at a time. Then broker 2 is SIGKILLed; once no ISR names it any more, it is started
again. Figures:
  create_s    creating the topics until every partition has its 3 in-sync replicas
  idle_cpu    then, with no client traffic, the CPU each broker process uses (% of a core, over
              10 s): replication's own cost at rest
  fenced_s    from the kill until no ISR names broker 2 (Kafka waits for its 9 s session timeout;
              the engine's supervisor sees the process end)
  rejoin_s    from the start command until every ISR is full again (Kafka's includes a JVM start)
  metadata    metadata changes (the KRaft/engine metadata version, DescribeQuorum's high watermark)
              from the restart to full ISRs
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kafka.admin import KafkaAdminClient  # noqa: E402
from three_brokers import start_three_brokers, wait  # noqa: E402  (bench/, on sys.path)

VICTIM = 2


def isr_counts(admin: AdminClient, prefix: str) -> tuple[int, int]:
    """(partitions whose ISR is not full, partitions whose ISR names the victim) of the bench's topics."""
    md = admin.list_topics(timeout=30)
    parts = [p for name, t in md.topics.items() if name.startswith(prefix) for p in t.partitions.values()]
    return sum(len(p.isrs) < 3 for p in parts), sum(VICTIM in p.isrs for p in parts)


def idle_cpu_percent(pids: list[int], seconds: float = 10.0) -> list[float]:
    """CPU each process used over `seconds` (all threads, from /proc), in % of one core."""
    def cpu(pid: int) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    time.sleep(2)  # the last ISR changes settle
    before = [cpu(p) for p in pids]
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    return [round((cpu(p) - b) / elapsed * 100, 1) for p, b in zip(pids, before, strict=True)]


def metadata_version(bootstrap: str) -> int:
    """kafka-python gives up on a broker that refuses its connection (one just killed may still be
    listed for a moment), so this retries."""
    from kafka.errors import KafkaConnectionError

    deadline = time.monotonic() + 30
    while True:
        client = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
        try:
            return client.describe_metadata_quorum()["topics"][0]["partitions"][0]["high_watermark"]
        except KafkaConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
        finally:
            client.close()


def bench(target: str, topics: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-{target}-") as tmp:
        cluster = start_three_brokers(target, Path(tmp))
        try:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            prefix = "scale-"
            started = time.monotonic()
            names = [f"{prefix}{i:05d}" for i in range(topics)]
            for i in range(0, topics, 50):
                for future in admin.create_topics([NewTopic(n, 6, 3) for n in names[i:i + 50]]).values():
                    future.result(120)
            wait(lambda: len([n for n in admin.list_topics(timeout=30).topics if n.startswith(prefix)]) == topics
                 and isr_counts(admin, prefix)[0] == 0, "topics in sync")
            create_s = time.monotonic() - started
            idle_cpu = idle_cpu_percent([cluster.pid(n) for n in cluster.broker_ids])
            killed = time.monotonic()
            cluster.kill(VICTIM)
            fenced_s = wait(lambda: isr_counts(admin, prefix)[1] == 0, "victim out of every ISR")
            fenced_s = time.monotonic() - killed
            live = ",".join(cluster.address(n) for n in cluster.broker_ids if n != VICTIM)
            before = metadata_version(live)  # kafka-python gives up on a dead bootstrap server
            restarted = time.monotonic()
            cluster.start(VICTIM)
            wait(lambda: isr_counts(admin, prefix)[0] == 0, "every ISR full again")
            rejoin_s = time.monotonic() - restarted
            changes = metadata_version(live) - before
        finally:
            cluster.close()
    return {"partitions": topics * 6, "create_s": round(create_s, 2), "idle_cpu": idle_cpu,
            "fenced_s": round(fenced_s, 2),
            "rejoin_s": round(rejoin_s, 2), "metadata": changes}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default="engine,kafka")
    parser.add_argument("--topics", type=int, default=150)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    results = {t: bench(t, args.topics) for t in args.targets.split(",")}
    print(f"{'target':<8} {'partitions':>10} {'create (s)':>11} {'idle CPU per broker (%)':>24} {'fenced (s)':>11}"
          f" {'rejoin (s)':>11} {'metadata':>9}")
    for t, r in results.items():
        idle = " / ".join(f"{c:.0f}" for c in r["idle_cpu"])
        print(f"{t:<8} {r['partitions']:>10} {r['create_s']:>11.2f} {idle:>24} {r['fenced_s']:>11.2f}"
              f" {r['rejoin_s']:>11.2f} {r['metadata']:>9}")
    if "engine" in results and "kafka" in results:
        e, k = results["engine"], results["kafka"]
        print(f"engine/kafka: create {e['create_s'] / k['create_s']:.2f}x, fenced {e['fenced_s'] / k['fenced_s']:.2f}x,"
              f" rejoin {e['rejoin_s'] / k['rejoin_s']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
