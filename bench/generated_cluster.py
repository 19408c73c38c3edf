"""The scale bench's generated cluster: a reader that returns what KafkaReader would, for a
cluster of any size, and the picklable factory that makes it in the builder process.

Its own module (not the bench's __main__) so that the builder process, a fresh Python, can
import it when it unpickles the factory.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

from partita.gui.services.cluster_client import RawCluster, RawGroup, RawLogDir


class GeneratedReader:
    """Returns a generated RawCluster, as KafkaReader.read() would; offsets advance each refresh."""

    def __init__(self, partitions: int, groups: int, brokers: int, seed: int = 7) -> None:
        rng = random.Random(seed)
        uniform = rng.random

        def below(n: int) -> int:  # rng.randrange(n), three times faster: 350,000 calls
            return int(uniform() * n)

        self.refreshes = 0
        self.brokers = brokers
        per_topic = 20
        ntopics = max(1, partitions // per_topic)
        self.nodes = [(i, f"kafka-{i}.example.internal", 9092, f"rack-{(i - 1) % 5}") for i in range(1, brokers + 1)]
        self.topics: dict[str, dict[int, tuple[int, list[int], list[int], list[int]]]] = {}
        self.end: dict[tuple[str, int], int] = {}
        self.start: dict[tuple[str, int], int] = {}
        self.sizes: dict[tuple[str, int], int] = {}
        for t in range(ntopics):
            name = f"service-{t // 50:03d}.events-{t:05d}"
            parts = {}
            for p in range(per_topic):
                first = (t * per_topic + p) % brokers
                replicas = [1 + (first + k * 7) % brokers for k in range(3)]
                parts[p] = (replicas[0], replicas, list(replicas), [])
                self.end[(name, p)] = below(10_000_000)
                self.start[(name, p)] = below(1000)
                self.sizes[(name, p)] = below(2_000_000_000)
            self.topics[name] = parts
        self.min_isr = {n: 2 for n in self.topics}
        names = list(self.topics)
        self.groups = []
        for g in range(groups):
            topic = names[g % len(names)]
            members = [
                (f"consumer-{g}-{m}-{rng.getrandbits(32):08x}", None, f"svc-{g % 97}", f"/10.1.{g % 250}.{m}",
                 [(topic, p) for p in range(m, per_topic, 3)])
                for m in range(3)
            ]
            offsets = {(topic, p): max(0, self.end[(topic, p)] - below(5000)) for p in range(per_topic)}
            self.groups.append(RawGroup(f"group-{g:05d}", "Stable", "consumer", "range", 1 + g % brokers, members, offsets))

    def read(self) -> RawCluster:
        self.refreshes += 1
        n = self.refreshes
        down = {self.brokers} if n in (3, 4) else set()  # the last broker fails for two refreshes
        for k in self.end:
            self.end[k] += 50
        topics = {}
        for name, parts in self.topics.items():
            out = {}
            for p, (leader, replicas, isr, _off) in parts.items():
                if down & set(replicas):
                    live = [r for r in replicas if r not in down]
                    out[p] = (live[0] if leader in down else leader, replicas, live, sorted(down & set(replicas)))
                else:
                    out[p] = (leader, replicas, isr, [])
            topics[name] = out
        # each live broker's partitions and their sizes, split over its two log dirs, as
        # DescribeLogDirs reports them
        held: dict[int, list] = {node: [] for node, *_ in self.nodes if node not in down}
        for k, size in self.sizes.items():
            for node in self.topics[k[0]][k[1]][1]:
                mine = held.get(node)
                if mine is not None:
                    mine.append((k, size))
        log_dirs = {
            node: [RawLogDir("/data/1/kafka", None, dict(mine[: len(mine) // 2])),
                   RawLogDir("/data/2/kafka", None, dict(mine[len(mine) // 2 :]))]
            for node, mine in held.items()
        }
        return RawCluster(
            bootstrap="kafka-1.example.internal:9092",
            cluster_id="generated-cluster",
            controller_id=1,
            nodes=[nd for nd in self.nodes if nd[0] not in down],
            topics=topics,
            min_isr=self.min_isr,
            start_offsets=dict(self.start),
            end_offsets=dict(self.end),
            log_dirs=log_dirs,
            groups=self.groups,
            kafka_version="3.7 (generated)",
        )

    def close(self) -> None:
        pass


class GeneratedCluster:
    """Picklable factory of the generated cluster's client, called in the builder process (as
    KafkaClientFactory is for a live cluster). Writes how long generating took to `report`."""

    def __init__(self, partitions: int, groups: int, brokers: int, report: str) -> None:
        self.partitions, self.groups, self.brokers, self.report = partitions, groups, brokers, report

    def __call__(self):
        from partita.gui.services.cluster_client import ClusterClient

        before = process_memory_mb(os.getpid())["rss_mb"]
        t = time.perf_counter()
        reader = GeneratedReader(self.partitions, self.groups, self.brokers)
        took = time.perf_counter() - t
        after = process_memory_mb(os.getpid())["rss_mb"]
        Path(self.report).write_text(json.dumps({
            "generate_s": round(took, 3),
            "builder_rss_mb_before_generating": before,
            "builder_rss_mb_after_generating": after,
        }))
        return ClusterClient(reader)


def process_memory_mb(pid: int) -> dict:
    """Peak and current RSS of a process, from /proc (Linux)."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return {"peak_rss_mb": out.get("VmHWM"), "rss_mb": out.get("VmRSS")}
