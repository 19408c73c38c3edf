#!/usr/bin/env python3
"""The console at scale: a generated cluster through the same code path as a live one.

    python bench/console_scale.py [--partitions 50000] [--groups 5000] [--brokers 30]
                                  [--refreshes 6] [--requests] [--json PATH]

Part 1 (GUI): a generated cluster (N partitions over topics of 20 partitions, RF 3, B brokers in 5
racks, G consumer groups each committed on one topic, log dirs with sizes) is served by a reader
that returns what a KafkaReader would return (RawCluster), with end offsets moving and one broker
going down and up again. It goes through ClusterClient → poller on the bridge's worker thread →
table projections → Qt models → the main window's views, offscreen. Measured:
  - time to first view: connect → the first snapshot's tables are in every view and painted;
  - longest GUI-thread stall: the largest gap between ticks of a 5 ms QTimer on the GUI thread,
    minus 5 ms, over refreshes and over operator actions (switching tabs, sorting 50,000 rows,
    filtering, selecting a broker and a group);
  - peak RSS of the process (ru_maxrss).

Part 2 (--requests): requests one refresh sends, against a real 3-broker Apache Kafka, for
topics totalling 10 … 2,000 partitions (and 1 … 50 groups): librdkafka's own count (statistics
`tx` per broker) plus every request kafka-python's admin client sends.

Targets (ARCHITECTURE.md): first view within 2 s, no stall over 50 ms, under 400 MB, requests
that grow with brokers and groups, not with partitions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from partita.gui.services.cluster_client import RawCluster, RawGroup, RawLogDir  # noqa: E402


class GeneratedReader:
    """Returns a generated RawCluster, as KafkaReader.read() would; offsets advance each refresh."""

    def __init__(self, partitions: int, groups: int, brokers: int, seed: int = 7) -> None:
        rng = random.Random(seed)
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
                self.end[(name, p)] = rng.randrange(0, 10_000_000)
                self.start[(name, p)] = rng.randrange(0, 1000)
                self.sizes[(name, p)] = rng.randrange(0, 2_000_000_000)
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
            offsets = {(topic, p): max(0, self.end[(topic, p)] - rng.randrange(0, 5000)) for p in range(per_topic)}
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
        log_dirs = {}
        for node, *_ in self.nodes:
            if node in down:
                continue
            mine = {k: v for k, v in self.sizes.items() if node in self.topics[k[0]][k[1]][1]}
            half = len(mine) // 2
            items = list(mine.items())
            log_dirs[node] = [RawLogDir("/data/1/kafka", None, dict(items[:half])), RawLogDir("/data/2/kafka", None, dict(items[half:]))]
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


def gui_bench(partitions: int, groups: int, brokers: int, refreshes: int, shots: Path | None, interval: float) -> dict:
    from partita.gui.qt.bindings import QApplication, QElapsedTimer, Qt, QTimer
    from partita.gui.qt.main_window import MainWindow
    from partita.gui.services.cluster_client import ClusterClient
    from partita.gui.services.settings import ConnectionSettings

    app = QApplication.instance() or QApplication([])
    t_gen = time.perf_counter()
    reader = GeneratedReader(partitions, groups, brokers)
    gen_s = time.perf_counter() - t_gen

    window = MainWindow(interval=interval)
    window.resize(1280, 800)
    window.show()
    # let the window appear (first layout, fonts, the plot) before measuring: that is not a refresh
    t_show = time.perf_counter()
    while time.perf_counter() - t_show < 1.0:
        app.processEvents()
        time.sleep(0.005)

    # GUI-thread stall probe
    stalls: list[float] = []
    phase = {"name": "startup"}
    worst: dict[str, float] = {}
    clock = QElapsedTimer()
    clock.start()
    last = {"t": clock.nsecsElapsed(), "cpu": time.thread_time()}
    # the longest stalls, each with the GUI thread's own CPU time in it: a stall with little CPU
    # was spent waiting (for the GIL, or for a core), one with much CPU was the GUI thread's work
    longest: list[tuple[float, float, str]] = []

    def tick():
        now = clock.nsecsElapsed()
        cpu = time.thread_time()
        gap = (now - last["t"]) / 1e6 - 5.0
        cpu_ms = (cpu - last["cpu"]) * 1000
        last["t"] = now
        last["cpu"] = cpu
        stalls.append(gap)
        worst[phase["name"]] = max(worst.get(phase["name"], 0.0), gap)
        if gap > 20:
            longest.append((round(gap, 1), round(cpu_ms, 1), phase["name"]))
        if gap > 50:
            big.append((round(time.perf_counter() - t0, 3), round(gap, 1), phase["name"]))

    big: list[tuple] = []
    t0 = time.perf_counter()
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(5)
    probe.timeout.connect(tick)
    probe.start()

    first = {}
    per_view_ms: dict[str, list[float]] = {}
    for vname in ("overview", "brokers", "topics", "groups"):
        view = getattr(window, vname)
        orig = view.update_data

        def timed(d, _orig=orig, _name=vname):
            t = time.perf_counter()
            _orig(d)
            per_view_ms.setdefault(_name, []).append(round((time.perf_counter() - t) * 1000, 1))

        view.update_data = timed

    def on_first():
        app.processEvents()
        window.repaint()
        first["t"] = time.perf_counter()
        big.append((round(first["t"] - t0, 3), 0.0, "first view painted"))

    window.first_data_arrived.connect(on_first)
    t0 = time.perf_counter()
    big.append((0.0, 0.0, "connect"))
    client = ClusterClient(reader)
    window.connect_client(client, ConnectionSettings(name="generated", bootstrap="kafka-1.example.internal:9092"))

    def spin_until(pred, timeout):
        deadline = time.perf_counter() + timeout
        while not pred() and time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.001)
        return pred()

    assert spin_until(lambda: "t" in first, 120), "no first view"
    first_view_s = first["t"] - t0
    phase["name"] = "refreshes"
    last["t"] = clock.nsecsElapsed()
    last["cpu"] = time.thread_time()
    spin_until(lambda: reader.refreshes >= refreshes and window.latest is not None
               and window.latest.snapshot.taken_at > 0 and reader.refreshes >= refreshes, 300)
    # let the last refresh land
    spin_until(lambda: False, 1.5)

    def act(name, fn):
        phase["name"] = name
        last["t"] = clock.nsecsElapsed()
        last["cpu"] = time.thread_time()
        t = time.perf_counter()
        fn()
        app.processEvents()
        spin_until(lambda: False, 0.3)
        return (time.perf_counter() - t) * 1000

    actions = {}
    actions["switch to topics"] = act("tab topics", lambda: window.tabs.setCurrentWidget(window.topics))
    actions["sort 50k partitions by end offset"] = act(
        "sort", lambda: window.topics.partitions.view.sortByColumn(9, Qt.SortOrder.DescendingOrder))
    actions["filter partitions 'events-0042'"] = act("filter", lambda: window.topics.partitions.filter.setText("events-0042"))
    actions["clear filter"] = act("unfilter", lambda: window.topics.partitions.filter.setText(""))
    actions["switch to brokers, select broker 7"] = act(
        "broker", lambda: (window.tabs.setCurrentWidget(window.brokers), window.brokers.table.select_key(7)))
    actions["switch to groups, select a group"] = act(
        "group", lambda: (window.tabs.setCurrentWidget(window.groups), window.groups.groups.select_key("group-00042")))
    phase["name"] = "refreshes (sorted views)"
    n0 = reader.refreshes
    spin_until(lambda: reader.refreshes >= n0 + 3, 120)
    spin_until(lambda: False, 1.0)
    probe.stop()

    if shots:
        window.save_screenshots(shots)

    snap = window.latest.snapshot
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "partitions": snap.partition_count,
        "topics": len(snap.topics),
        "groups": len(snap.groups),
        "brokers": len(snap.brokers),
        "committed_offsets": sum(len(g.offsets) for g in snap.groups),
        "generate_s": round(gen_s, 3),
        "first_view_s": round(first_view_s, 3),
        "refreshes_seen": reader.refreshes,
        "worker_table_build_s": round(window.latest.built_in, 3),
        "longest_gui_stall_ms": round(max(stalls), 1),
        "gui_thread_ms_per_view": per_view_ms,
        "longest_gui_stall_ms_by_phase": {k: round(v, 1) for k, v in worst.items()},
        "action_ms": {k: round(v, 1) for k, v in actions.items()},
        "peak_rss_mb": round(rss_mb, 1),
        "stalls_over_50ms": big,
        "stalls_over_20ms_ms_gui_cpu_ms_phase": sorted(longest, reverse=True)[:12],
    }
    window.close()
    return result


def requests_bench(steps: list[tuple[int, int]]) -> list[dict]:
    """Requests one refresh sends against real Apache Kafka, for growing partition and group counts."""
    import tempfile

    from confluent_kafka import Consumer
    from confluent_kafka.admin import AdminClient, NewTopic

    from partita.gui.services.cluster_client import ClusterClient, KafkaReader
    from partita.gui.services.settings import ConnectionSettings
    from tests.support.apache_kafka import KafkaCluster

    out = []
    with tempfile.TemporaryDirectory() as tmp, KafkaCluster(brokers=3, racks=("a", "b", "c"), log_dirs=2, workdir=Path(tmp)) as kafka:
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
        have_parts = 0
        have_groups = 0
        for i, (partitions, groups) in enumerate(steps):
            if partitions > have_parts:
                name = f"bench-{i}"
                admin.create_topics([NewTopic(name, partitions - have_parts, 3)])[name].result(120)
                have_parts = partitions
            while have_groups < groups:
                c = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": f"bench-group-{have_groups}",
                              "enable.auto.commit": False})
                from confluent_kafka import KafkaException, TopicPartition

                deadline = time.monotonic() + 60
                while True:
                    try:
                        c.commit(offsets=[TopicPartition("bench-0", 0, 1)], asynchronous=False)
                        break
                    except KafkaException:  # coordinator still loading
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.5)
                c.close()
                have_groups += 1
            reader = KafkaReader(ConnectionSettings(bootstrap=kafka.bootstrap), count_requests=True)
            client = ClusterClient(reader)
            deadline = time.monotonic() + 120
            while True:  # until the new topic's partitions and groups are all visible
                seen = client.snapshot()
                if (sum(len(t.partitions) for t in seen.topics if t.name.startswith("bench-")) >= partitions
                        and len(seen.groups) >= groups) or time.monotonic() > deadline:
                    break
                time.sleep(1)
            time.sleep(0.5)
            reader._admin.poll(0.5)
            rd0, kp0 = reader.counter.rdkafka, reader.counter.kafka_python
            t = time.perf_counter()
            snap = client.snapshot()  # the measured refresh (configs only for new topics)
            took = time.perf_counter() - t
            time.sleep(0.5)
            reader._admin.poll(0.5)
            rd1, kp1 = reader.counter.rdkafka, reader.counter.kafka_python
            row = {
                "partitions": snap.partition_count,
                "user_partitions": partitions,
                "groups": len(snap.groups),
                "brokers": len(snap.brokers),
                "librdkafka_requests": (rd1 - rd0) if rd0 is not None and rd1 is not None else None,
                "kafka_python_requests": kp1 - kp0,
                "refresh_s": round(took, 3),
            }
            row["total_requests"] = (row["librdkafka_requests"] or 0) + row["kafka_python_requests"]
            print(json.dumps(row), flush=True)
            out.append(row)
            client.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--partitions", type=int, default=50_000)
    ap.add_argument("--groups", type=int, default=5_000)
    ap.add_argument("--brokers", type=int, default=30)
    ap.add_argument("--refreshes", type=int, default=6)
    ap.add_argument("--interval", type=float, default=5.0, help="refresh interval, as in the console (5 s)")
    ap.add_argument("--gc", choices=("default", "off", "app"), default="app", help="garbage collector setting")
    ap.add_argument("--switch-interval", type=float, default=None, help="sys.setswitchinterval for the run")
    ap.add_argument("--requests", action="store_true", help="also count requests per refresh against Apache Kafka")
    ap.add_argument("--no-gui", action="store_true")
    ap.add_argument("--screenshots", type=Path, help="save the views of the generated cluster here")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    report = {}
    if args.gc == "off":
        import gc

        gc.disable()
    elif args.gc == "app":
        from partita.gui.app import tune_gc

        tune_gc()  # what `partita` does at start
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    if not args.no_gui:
        report["gui"] = gui_bench(args.partitions, args.groups, args.brokers, args.refreshes, args.screenshots, args.interval)
        print(json.dumps(report["gui"], indent=2), flush=True)
    if args.requests:
        steps = [(10, 1), (100, 1), (1000, 1), (2000, 1), (2000, 10), (2000, 50)]
        report["requests"] = requests_bench(steps)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    rc = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)  # skip interpreter teardown: PySide6 may crash while finalising a closed window
