#!/usr/bin/env python3
"""The console at scale: a generated cluster through the same code path as a live one.

    python bench/console_scale.py [--partitions 50000] [--groups 5000] [--brokers 30]
                                  [--refreshes 6] [--requests] [--json PATH]

Part 1 (GUI): a generated cluster (N partitions over topics of 20 partitions, RF 3, B brokers in 5
racks, G consumer groups each committed on one topic, log dirs with sizes) is served by a reader
that returns what a KafkaReader would return (RawCluster), with end offsets moving and one broker
going down and up again. The reader is made in the builder process from a picklable factory, as a
connection profile's client is, and goes through ClusterClient → table projections (builder
process) → slices over its socket → the bridge's worker thread → Qt models → the main window's
views, offscreen. As `partita` does, the builder process is started before Qt is loaded and the
window built (builder_process.prestart). Measured:
  - time to first view: connect → the first snapshot's tables are in every view and painted,
    with and without the time the builder spent generating the cluster (bench-only work that
    stands in for a cluster that exists already);
  - longest GUI-thread stall: the largest gap between ticks of a 5 ms QTimer on the GUI thread,
    minus 5 ms, over refreshes and over operator actions (switching tabs, sorting 50,000 rows,
    filtering, selecting a broker and a group; each its own event-loop turn);
  - peak RSS of the GUI process (ru_maxrss) and of every child process (the builder), from
    /proc (VmHWM);
  - per refresh: builder time (read + assemble, tables) and transfer (frames, MB, the receiving
    thread's unpickling time and its longest single hold of the GIL).

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
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the builder keeps its history as the console does (its cost is part of a refresh), but of
# generated clusters: not in the user's own data directory
if "PARTITA_DATA_DIR" not in os.environ:
    import tempfile

    os.environ["PARTITA_DATA_DIR"] = tempfile.mkdtemp(prefix="console-scale-data-")

from generated_cluster import GeneratedCluster, process_memory_mb  # noqa: E402  (bench/, on sys.path)


def runqueue_wait() -> float:
    """Seconds this thread has waited on a run queue for a core (Linux schedstat; 0 elsewhere)."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def child_processes(parent: int) -> dict[int, str]:
    """pid → name of the processes whose parent is `parent`."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == parent:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            out[int(entry.name)] = "resource_tracker" if "resource_tracker" in cmd else name
    return out


def gui_bench(partitions: int, groups: int, brokers: int, refreshes: int, shots: Path | None, interval: float) -> dict:
    import tempfile

    from partita.gui.services import builder_process

    # as `partita` does first thing: the builder process starts (and imports) while Qt loads and
    # the window is built
    builder_process.prestart()

    from partita.gui.qt.bindings import QApplication, QElapsedTimer, Qt, QTimer
    from partita.gui.qt.main_window import MainWindow
    from partita.gui.services.settings import ConnectionSettings

    app = QApplication.instance() or QApplication([])
    report = Path(tempfile.mkdtemp(prefix="console-scale-")) / "generated.json"
    factory = GeneratedCluster(partitions, groups, brokers, str(report))

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
    last = {"t": clock.nsecsElapsed(), "cpu": time.thread_time(), "queued": runqueue_wait()}
    # the longest stalls, each with the GUI thread's own CPU time in it and the time it waited
    # for a core (Linux schedstat): what is left was spent waiting for the GIL (or blocked)
    longest: list[tuple[float, float, float, str, float]] = []

    def tick():
        now = clock.nsecsElapsed()
        cpu = time.thread_time()
        queued = runqueue_wait()
        gap = (now - last["t"]) / 1e6 - 5.0
        cpu_ms = (cpu - last["cpu"]) * 1000
        queued_ms = (queued - last["queued"]) * 1000
        last["t"] = now
        last["cpu"] = cpu
        last["queued"] = queued
        stalls.append(gap)
        worst[phase["name"]] = max(worst.get(phase["name"], 0.0), gap)
        if gap > 20:
            longest.append((round(gap, 1), round(cpu_ms, 1), round(queued_ms, 1), phase["name"], time.perf_counter()))
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
    applied = {"n": 0}
    # per refresh: requested, first frame, last frame, unpickled, applied to every view
    windows: list[tuple[float, float, float, float, float]] = []
    per_refresh: list[dict] = []

    def on_applied(d):
        applied["n"] += 1
        tr = window.bridge.last_transfer if window.bridge is not None else None
        if tr:
            windows.append((tr.requested_at, tr.first_frame_at, tr.received_at, tr.assembled_at, time.perf_counter()))
        per_refresh.append({
            "builder_read_assemble_s": round(d.fetched_in, 3),
            "builder_tables_s": round(d.built_in, 3),
            "frames": tr.frames if tr else None,
            "mb": round(tr.bytes / 2**20, 1) if tr else None,
            "receive_s": round(tr.received_at - tr.first_frame_at, 3) if tr else None,
            "gui_unpickle_s": round(tr.unpickle_seconds, 3) if tr else None,
            "gui_unpickle_turns": tr.turns if tr else None,
            "longest_unpickle_ms": round(tr.longest_unpickle_ms, 2) if tr else None,
        })

    window.data_applied.connect(on_applied)
    t0 = time.perf_counter()
    big.append((0.0, 0.0, "connect"))
    window.connect_client(factory, ConnectionSettings(name="generated", bootstrap="kafka-1.example.internal:9092"))

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
    last["queued"] = runqueue_wait()
    spin_until(lambda: applied["n"] >= refreshes, 300)
    # let the last refresh land
    spin_until(lambda: False, 1.5)

    def act(name, fn):
        phase["name"] = name
        last["t"] = clock.nsecsElapsed()
        last["cpu"] = time.thread_time()
        last["queued"] = runqueue_wait()
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
    # a tab switch and a selection are two clicks, each its own event-loop turn (and paint)
    actions["switch to brokers"] = act("tab brokers", lambda: window.tabs.setCurrentWidget(window.brokers))
    actions["select broker 7"] = act("broker", lambda: window.brokers.table.select_key(7))
    actions["switch to groups"] = act("tab groups", lambda: window.tabs.setCurrentWidget(window.groups))
    actions["select a group"] = act("group", lambda: window.groups.groups.select_key("group-00042"))
    phase["name"] = "refreshes (sorted views)"
    n0 = applied["n"]
    spin_until(lambda: applied["n"] >= n0 + 3, 120)
    spin_until(lambda: False, 1.0)
    probe.stop()

    if shots:
        window.save_screenshots(shots)

    def during(at: float, gap_ms: float) -> str:
        """What the refresh pipeline was doing in a stall that ended at `at`."""
        start = at - gap_ms / 1000
        for requested, first, last, whole, shown in windows:
            if start < shown and at > requested:
                if at <= first:
                    return "builder building"
                if at <= last:
                    return "receiving frames"
                if at <= whole:
                    return "unpickling"
                return "applying to views"
        return "between refreshes"

    snap = window.latest.summary
    gui_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    children = {f"{name} ({pid})": process_memory_mb(pid) for pid, name in child_processes(os.getpid()).items()}
    builder = window.bridge.builder_pid
    generated = json.loads(report.read_text()) if report.exists() else {}
    generate_s = generated.get("generate_s")
    result = {
        "partitions": snap.partition_count,
        "topics": snap.topic_count,
        "groups": snap.group_count,
        "brokers": len(snap.brokers),
        "committed_offsets": snap.committed_offsets,
        "generate_s (in the builder, part of first view)": generate_s,
        "first_view_s": round(first_view_s, 3),
        "first_view_s_without_generating": round(first_view_s - (generate_s or 0), 3),
        "refreshes_seen": applied["n"],
        "builder_processes_started": window.bridge.builders_started,
        "per_refresh": per_refresh,
        "longest_gui_stall_ms": round(max(stalls), 1),
        "gui_thread_ms_per_view": per_view_ms,
        "longest_gui_stall_ms_by_phase": {k: round(v, 1) for k, v in worst.items()},
        "action_ms": {k: round(v, 1) for k, v in actions.items()},
        "peak_rss_mb": gui_rss_mb,
        "builder_pid": builder,
        "child_processes_memory": children,
        # the generated cluster stands in for the remote one: its memory is the bench's, not the console's
        "builder_rss_mb_before_and_after_generating": [generated.get("builder_rss_mb_before_generating"),
                                                       generated.get("builder_rss_mb_after_generating")],
        "peak_rss_mb_sum_of_processes": round(gui_rss_mb + sum(c["peak_rss_mb"] or 0 for c in children.values()), 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "stalls_over_50ms": big,
        # (stall ms, GUI-thread CPU ms, ms the GUI thread waited for a core, phase, pipeline step,
        # seconds since connect)
        "stalls_over_20ms": sorted(
            ((gap, cpu, queued, ph, during(at, gap), round(at - t0, 3)) for gap, cpu, queued, ph, at in longest),
            reverse=True)[:12],
    }
    window.close()
    # closing the window stops the builder: no child process is left
    result["child_processes_after_close"] = sorted(child_processes(os.getpid()).values())
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
