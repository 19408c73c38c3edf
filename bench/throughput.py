#!/usr/bin/env python3
"""Single-producer / single-consumer throughput: Partita's engine vs Apache Kafka vs librdkafka's mock.

    python bench/throughput.py [--records N] [--targets engine,kafka,mock] [--acks 1|all]
                               [--brokers 1|3] [--replication-factor R] [--json PATH]

For each target: one confluent-kafka Producer sends N records of 100 bytes (no key, a random partition
per record) to a 6-partition topic and flushes; then one Consumer, assigned to every partition from the
beginning, reads until it has exactly N records. Only the produce loop + flush and the consume loop are timed:
starting the cluster, creating the topic and connecting the clients are not.

Targets
  kafka   Apache Kafka (tests/support/apache_kafka.py: jars from Maven Central, KRaft, 127.0.0.1)
  mock    librdkafka's mock cluster, hosted in a child process through the librdkafka that ships in
          the confluent-kafka wheel. The mock keeps at most 5 MiB per partition (hardcoded in
          rdkafka_mock.c, not configurable) and drops its oldest batches beyond that, so N records
          are sent in rounds of at most that size, each round to a fresh topic; times are summed.
  engine  Partita's engine: `partita-engine up --brokers B --racks ... --dir TMP --detach`, which
          prints `bootstrap.servers=...` when ready, and `partita-engine stop --dir TMP`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

MOCK_PARTITION_CAP = 5 * 1024 * 1024  # rdkafka_mock.c: mpart->max_size
RACKS = ("a", "b", "c")
LOCAL_HOSTS = ("127.0.0.1", "localhost")


@dataclass
class Result:
    target: str
    records: int
    record_size: int
    produce_s: float = 0.0
    consume_s: float = 0.0
    rounds: int = 1
    # CPU seconds the target's server processes used in each phase (all their threads, from /proc)
    produce_server_cpu_s: float = 0.0
    # the producer's own thread (the one calling produce()) during the produce phase: CPU it used,
    # and time it was ready to run but waited for a core (from /proc/self/task/TID/schedstat)
    produce_client_cpu_s: float = 0.0
    produce_client_wait_s: float = 0.0
    consume_server_cpu_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def rate(self, seconds: float) -> float:
        return self.records / seconds if seconds > 0 else 0.0

    def mbps(self, seconds: float) -> float:
        return self.records * self.record_size / 1e6 / seconds if seconds > 0 else 0.0

    def cpu_us_per_record(self, cpu_s: float) -> float:
        return cpu_s * 1e6 / self.records

    def figures(self) -> dict[str, object]:
        d = asdict(self)
        if self.ok:
            d.update(
                produce_records_per_s=round(self.rate(self.produce_s)),
                produce_mb_per_s=round(self.mbps(self.produce_s), 2),
                consume_records_per_s=round(self.rate(self.consume_s)),
                consume_mb_per_s=round(self.mbps(self.consume_s), 2),
                produce_server_cpu_us_per_record=round(self.cpu_us_per_record(self.produce_server_cpu_s), 3),
                produce_client_cpu_us_per_record=round(self.cpu_us_per_record(self.produce_client_cpu_s), 3),
                consume_server_cpu_us_per_record=round(self.cpu_us_per_record(self.consume_server_cpu_s), 3),
            )
        return d


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time of these processes (every thread of each), from /proc/PID/stat;
    a process that has gone counts nothing."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _CLOCK_TICKS


def thread_times() -> tuple[float, float]:
    """(CPU seconds, seconds spent waiting for a core) of the calling thread, from schedstat."""
    with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as f:
        run_ns, wait_ns, _ = f.read().split()
    return int(run_ns) / 1e9, int(wait_ns) / 1e9


class BenchError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------------------
# produce / consume


def _check_local(bootstrap: str) -> None:
    for hp in bootstrap.split(","):
        host = hp.strip().rsplit(":", 1)[0].strip("[]")
        if host not in LOCAL_HOSTS:
            raise BenchError(f"refusing to benchmark against {hp!r}: only 127.0.0.1 is a target")


class ProduceTiming(NamedTuple):
    seconds: float  # from the first produce() to the end of flush()
    client_cpu_s: float  # CPU of the thread calling produce() meanwhile
    client_wait_s: float  # time that thread was ready to run but had no core


# What every producer here shares: the timed runs' and the ceiling's.
PRODUCER_SETTINGS = {
    "linger.ms": 5,
    "sticky.partitioning.linger.ms": 0,
    "batch.num.messages": 10000,
    "compression.type": "none",
    "enable.idempotence": False,
    "message.timeout.ms": 300_000,
    "delivery.report.only.error": True,
}


def produce(bootstrap: str, topic: str, n: int, record_size: int, partitions: int, acks: str) -> ProduceTiming:
    """Produce n keyless records; time the loop and flush() (setup is not timed).

    ``sticky.partitioning.linger.ms=0`` sends each keyless record to a random partition, which spreads
    them evenly (the mock's per-partition cap needs that) and is as fast in Python as the default sticky
    partitioner, and faster than passing ``partition=`` to every produce() call.
    """
    errors: list[str] = []

    def on_delivery(err, _msg):  # called for failed records only (delivery.report.only.error)
        if err is not None:
            errors.append(str(err))

    p = Producer({
        **PRODUCER_SETTINGS,
        "bootstrap.servers": bootstrap,
        "acks": acks,
        "queue.buffering.max.messages": 1_000_000,
        "queue.buffering.max.kbytes": 1_048_576,
        "on_delivery": on_delivery,
    })
    md = p.list_topics(topic, timeout=30)  # setup: metadata and leaders known before the clock starts
    tmd = md.topics.get(topic)
    if tmd is None or tmd.error is not None or len(tmd.partitions) != partitions:
        raise BenchError(f"topic {topic} not ready for producing: {tmd and tmd.error}")
    payload = os.urandom(record_size)
    cpu_before, wait_before = thread_times()
    start = time.perf_counter()
    _produce_loop(p, topic, n, payload)
    remaining = p.flush(600)
    elapsed = time.perf_counter() - start
    cpu_after, wait_after = thread_times()
    if remaining:
        raise BenchError(f"{remaining} records still undelivered after flush")
    if errors:
        raise BenchError(f"{len(errors)} records failed, e.g. {errors[0]}")
    return ProduceTiming(elapsed, cpu_after - cpu_before, wait_after - wait_before)


def _produce_loop(p: Producer, topic: str, n: int, payload: bytes) -> None:
    """The timed loop every target gets: one produce() per record, a poll(0) every 16k records."""
    send = p.produce
    poll = p.poll
    for i in range(n):
        try:
            send(topic, payload)
        except BufferError:
            while True:
                poll(0.005)
                try:
                    send(topic, payload)
                    break
                except BufferError:
                    continue
        if not i & 0x3FFF:
            poll(0)


def producer_ceiling(n: int, record_size: int) -> float:
    """Records/s of the same produce() loop with no broker at all: the producer's own ceiling on this
    machine. Its bootstrap is a local port that is bound but not listening, so connections are refused
    and every record stays queued; the queue is purged afterwards."""
    with socket.socket() as closed_port:
        closed_port.bind(("127.0.0.1", 0))
        p = Producer({
            **PRODUCER_SETTINGS,
            "bootstrap.servers": f"127.0.0.1:{closed_port.getsockname()[1]}",
            "queue.buffering.max.messages": max(n, 1),  # all of them stay queued
            "queue.buffering.max.kbytes": 2_097_151,
            "log_level": 0,
            "on_delivery": lambda _err, _msg: None,
        })
        try:
            start = time.perf_counter()
            _produce_loop(p, "ceiling", n, os.urandom(record_size))
            return n / (time.perf_counter() - start)
        finally:
            p.purge()
            p.poll(0)


def consume(bootstrap: str, topic: str, n: int, partitions: int) -> float:
    """Read exactly n records from the beginning of every partition; return the seconds taken."""
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"bench-{os.getpid()}-{time.monotonic_ns()}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        # librdkafka >= 2.4 pauses a partition's fetching for fetch.queue.backoff.ms (1 s by default)
        # once its local queue is past queued.min.messages: that caps a fast consumer at ~200k rec/s
        "fetch.queue.backoff.ms": 10,
    })
    try:
        # setup: connect to every leader and check that the log holds exactly n records from offset 0
        total = 0
        for part in range(partitions):
            low, high = c.get_watermark_offsets(TopicPartition(topic, part), timeout=30)
            if low != 0:
                raise BenchError(f"{topic}[{part}] starts at offset {low}: the target dropped records")
            total += high - low
        if total != n:
            raise BenchError(f"{topic} holds {total} records, expected {n}")
        c.assign([TopicPartition(topic, part, OFFSET_BEGINNING) for part in range(partitions)])
        got = 0
        batch = c.consume
        deadline = time.monotonic() + max(120.0, n / 20_000)
        start = time.perf_counter()
        while got < n:
            msgs = batch(num_messages=min(10_000, n - got), timeout=1.0)
            for m in msgs:
                if m.error() is not None:
                    raise BenchError(f"consume error: {m.error()}")
            got += len(msgs)
            if not msgs and time.monotonic() > deadline:
                raise BenchError(f"consumer stalled at {got}/{n} records")
        elapsed = time.perf_counter() - start
        if got != n:
            raise BenchError(f"consumed {got} records, expected exactly {n}")
        return elapsed
    finally:
        c.close()


def create_topic(bootstrap: str, topic: str, partitions: int, rf: int, timeout: float = 60.0) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fut = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=rf)],
                              operation_timeout=30)
    fut[topic].result(timeout)
    deadline = time.monotonic() + timeout
    while True:
        tmd = admin.list_topics(topic, timeout=10).topics.get(topic)
        if tmd is not None and tmd.error is None and len(tmd.partitions) == partitions and all(
            pm.leader >= 0 and len(pm.isrs) == rf for pm in tmd.partitions.values()
        ):
            return
        if time.monotonic() > deadline:
            raise BenchError(f"topic {topic} has no full ISR after {timeout:.0f}s")
        time.sleep(0.2)


def wait_brokers(bootstrap: str, count: int, timeout: float = 90.0) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    deadline = time.monotonic() + timeout
    seen: list[int] = []
    while time.monotonic() < deadline:
        with contextlib.suppress(KafkaException):
            seen = sorted(admin.list_topics(timeout=5).brokers)
            if len(seen) >= count:
                return
        time.sleep(0.5)
    raise BenchError(f"{bootstrap} lists brokers {seen}, expected {count}")


def workload(args: argparse.Namespace) -> list[int]:
    """Records per round. With the mock among the targets every target gets the mock's rounds
    (each round a fresh topic, flushed and then consumed), so all of them do the same work."""
    if "mock" in args.target_list:
        return mock_rounds(args.records, args.record_size, args.partitions)
    return [args.records]


def run_on_cluster(res: Result, bootstrap: str, args: argparse.Namespace, server_pids: Callable[[], list[int]]) -> None:
    sizes = workload(args)
    topics = [f"bench-{i}" for i in range(len(sizes))]
    for topic in topics:
        create_topic(bootstrap, topic, args.partitions, args.replication_factor)
    res.rounds = len(sizes)
    if len(sizes) > 1:
        res.notes.append(f"{len(sizes)} rounds of <= {sizes[0]:,} records, one fresh topic each, as the mock's")
    run_rounds(res, bootstrap, topics, sizes, args, server_pids)


def run_rounds(res: Result, bootstrap: str, topics: list[str], sizes: list[int], args: argparse.Namespace,
               server_pids: Callable[[], list[int]]) -> None:
    """The timed rounds; also the CPU the server processes spent during them (`server_pids` is asked
    again for each round: a process may have been replaced)."""
    for topic, size in zip(topics, sizes, strict=True):
        pids = server_pids()
        before = cpu_seconds(pids)
        timing = produce(bootstrap, topic, size, args.record_size, args.partitions, args.acks)
        res.produce_server_cpu_s += cpu_seconds(pids) - before
        res.produce_s += timing.seconds
        res.produce_client_cpu_s += timing.client_cpu_s
        res.produce_client_wait_s += timing.client_wait_s
    for topic, size in zip(topics, sizes, strict=True):
        pids = server_pids()
        before = cpu_seconds(pids)
        res.consume_s += consume(bootstrap, topic, size, args.partitions)
        res.consume_server_cpu_s += cpu_seconds(pids) - before


# --------------------------------------------------------------------------------------------------
# targets


def _racks(brokers: int) -> list[str]:
    return list(RACKS[:brokers]) if brokers <= len(RACKS) else [RACKS[i % 3] for i in range(brokers)]


def bench_kafka(args: argparse.Namespace) -> Result:
    from tests.support.apache_kafka import KafkaCluster

    res = Result("kafka", args.records, args.record_size)
    res.notes.append(f"Apache Kafka {args.kafka_version}, {args.brokers} node(s), KRaft, -Xmx256m")
    with tempfile.TemporaryDirectory(prefix="partita-bench-kafka-") as tmp, KafkaCluster(
        brokers=args.brokers,
        racks=_racks(args.brokers) if args.brokers > 1 else None,
        log_dirs=1,
        workdir=Path(tmp),
        version=args.kafka_version,
    ) as kc:
        run_on_cluster(res, kc.bootstrap, args, lambda: [p for p in map(kc.pid, kc.broker_ids) if p])
    return res


_MOCK_SERVER = r"""
import ctypes, glob, os, sys
import confluent_kafka
brokers, partitions, rf = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
topics = sys.argv[4:]
libs = sorted(glob.glob(os.path.join(os.path.dirname(os.path.dirname(confluent_kafka.__file__)),
                                     "confluent_kafka.libs", "librdkafka*.so*")))
if not libs:
    import ctypes.util
    found = ctypes.util.find_library("rdkafka")
    libs = [found] if found else []
if not libs:
    sys.exit("no librdkafka shared library found next to confluent_kafka")
lib = ctypes.CDLL(libs[0])
lib.rd_kafka_conf_new.restype = ctypes.c_void_p
lib.rd_kafka_new.restype = ctypes.c_void_p
lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
lib.rd_kafka_mock_cluster_destroy.argtypes = [ctypes.c_void_p]
lib.rd_kafka_mock_topic_create.restype = ctypes.c_int
lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
errstr = ctypes.create_string_buffer(512)
rk = lib.rd_kafka_new(0, lib.rd_kafka_conf_new(), errstr, 512)
if not rk:
    sys.exit("rd_kafka_new: " + errstr.value.decode())
mc = lib.rd_kafka_mock_cluster_new(rk, brokers)
if not mc:
    sys.exit("rd_kafka_mock_cluster_new failed")
for t in topics:
    err = lib.rd_kafka_mock_topic_create(mc, t.encode(), partitions, rf)
    if err:
        sys.exit(f"rd_kafka_mock_topic_create({t}): error {err}")
print("bootstrap.servers=" + lib.rd_kafka_mock_cluster_bootstraps(mc).decode(), flush=True)
sys.stdin.read()  # serve until the benchmark closes our stdin
lib.rd_kafka_mock_cluster_destroy(mc)
lib.rd_kafka_destroy(rk)
"""


def _read_bootstrap(proc: subprocess.Popen[str], what: str, timeout: float) -> str:
    """Read the child's stdout until a `bootstrap.servers=` line (in a thread, to honour the timeout)."""
    found: list[str] = []
    lines: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            if line.startswith("bootstrap.servers="):
                found.append(line.strip().split("=", 1)[1])
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    if not found:
        raise BenchError(f"{what} printed no bootstrap.servers= line within {timeout:.0f}s "
                         f"(exit code {proc.poll()}); stdout: {' | '.join(lines[-10:])}")
    _check_local(found[0])
    return found[0]


def mock_rounds(records: int, record_size: int, partitions: int) -> list[int]:
    """Split N so that no mock partition exceeds ~90% of its 5 MiB cap (records spread evenly)."""
    per_record = record_size + 12  # v2 record framing for a keyless record + share of the batch header
    cap = max(partitions, int(partitions * MOCK_PARTITION_CAP * 0.9 / per_record))
    sizes = []
    left = records
    while left > 0:
        sizes.append(min(cap, left))
        left -= sizes[-1]
    return sizes


def bench_mock(args: argparse.Namespace) -> Result:
    res = Result("mock", args.records, args.record_size)
    sizes = mock_rounds(args.records, args.record_size, args.partitions)
    topics = [f"bench-{i}" for i in range(len(sizes))]
    res.rounds = len(sizes)
    res.notes.append(
        f"librdkafka mock, {args.brokers} broker(s), no replication; {len(sizes)} round(s) of <= {sizes[0]:,} "
        f"records, one fresh topic each (mock keeps <= 5 MiB per partition)"
    )
    rf = min(args.replication_factor, args.brokers)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", _MOCK_SERVER, str(args.brokers), str(args.partitions), str(rf), *topics],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
        )
        try:
            try:
                bootstrap = _read_bootstrap(proc, "mock cluster", 60)
            except BenchError as exc:
                err.seek(0)
                raise BenchError(f"{exc}; stderr: {err.read().decode(errors='replace')[-1000:]}") from None
            run_rounds(res, bootstrap, topics, sizes, args, lambda: [proc.pid])
        finally:
            with contextlib.suppress(OSError):
                assert proc.stdin is not None
                proc.stdin.close()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return res


def _engine_exe() -> str:
    candidate = Path(sys.executable).parent / "partita-engine"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("partita-engine")
    if not found:
        raise BenchError("partita-engine is not installed in this environment (run scripts/install)")
    return found


@contextlib.contextmanager
def engine_cluster(brokers: int, workdir: Path) -> Iterator[str]:
    exe = _engine_exe()
    racks = ",".join(_racks(brokers))
    up_log = workdir / "up.stderr.log"
    with open(up_log, "w") as err:
        up = subprocess.Popen(
            [exe, "up", "--brokers", str(brokers), "--racks", racks, "--dir", str(workdir / "data"), "--detach"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True,
        )
    try:
        try:
            bootstrap = _read_bootstrap(up, "partita-engine up", 120)
        except BenchError as exc:
            raise BenchError(f"{exc}; stderr: {up_log.read_text(errors='replace')[-1500:]}") from None
        yield bootstrap
    finally:
        stop = subprocess.run([exe, "stop", "--dir", str(workdir / "data")], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120)
        if up.stdout is not None:
            up.stdout.close()
        if up.poll() is None:  # `up --detach` should have exited after printing; stop it by its PID
            up.terminate()
            try:
                up.wait(15)
            except subprocess.TimeoutExpired:
                up.kill()
                up.wait()
        if stop.returncode != 0:
            print(f"warning: partita-engine stop exited {stop.returncode}: {stop.stderr.strip()[-500:]}",
                  file=sys.stderr)


def bench_engine(args: argparse.Namespace) -> Result:
    res = Result("engine", args.records, args.record_size)
    res.notes.append(f"partita-engine, {args.brokers} broker(s)")
    with tempfile.TemporaryDirectory(prefix="partita-bench-engine-") as tmp, engine_cluster(
        args.brokers, Path(tmp)
    ) as bootstrap:
        wait_brokers(bootstrap, args.brokers)
        run_on_cluster(res, bootstrap, args, lambda: engine_pids(Path(tmp) / "data"))
    return res


def engine_pids(cluster_dir: Path) -> list[int]:
    """The supervisor (it hosts the controller) and every broker process."""
    from partita.engine.cluster import launcher

    info = launcher.status(cluster_dir)
    if info is None:
        return []
    return [info.supervisor_pid, *(b.pid for b in info.brokers if b.pid)]


TARGETS: dict[str, Callable[[argparse.Namespace], Result]] = {
    "engine": bench_engine,
    "kafka": bench_kafka,
    "mock": bench_mock,
}


# --------------------------------------------------------------------------------------------------
# report


def ratios(results: dict[str, Result]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    eng = results.get("engine")
    if not eng or not eng.ok:
        return out
    for ref in ("kafka", "mock"):
        other = results.get(ref)
        if other and other.ok:
            out[f"engine/{ref}"] = {
                "produce": round(eng.rate(eng.produce_s) / other.rate(other.produce_s), 3),
                "consume": round(eng.rate(eng.consume_s) / other.rate(other.consume_s), 3),
            }
    return out


@dataclass
class PairedRatio:
    """engine/reference over the repeats where both ran: each repeat's two runs are neighbours in time,
    so their ratio cancels most of the machine's drift; the median of those ratios comes with a
    distribution-free confidence interval (order statistics of the binomial), not a normal approximation."""

    per_repeat: list[float]
    median: float
    low: float
    high: float
    coverage: float  # probability that [low, high] holds the true median ratio

    def describe(self) -> str:
        n = len(self.per_repeat)
        above = sum(r > 1 for r in self.per_repeat)
        if self.coverage > 0:
            return (f"{self.median:.2f}x, {self.coverage:.0%} interval {self.low:.2f}-{self.high:.2f}x "
                    f"(n={n}, above 1 in {above})")
        return f"{self.median:.2f}x (n={n}, too few repeats for an interval)"


def paired_ratio(values: list[float]) -> PairedRatio | None:
    if not values:
        return None
    ordered = sorted(values)
    n = len(ordered)
    # The largest j with P(Binomial(n, 1/2) < j) <= 2.5 %: [x_(j), x_(n+1-j)] covers the median with
    # probability 1 - 2 P(B < j) (at least 95 % once n >= 6).
    j, tail, coverage = 0, 0.0, 0.0
    for k in range(n // 2):
        tail += math.comb(n, k) / 2**n
        if tail > 0.025:
            break
        j, coverage = k + 1, 1 - 2 * tail
    if j == 0 and n >= 2:  # n < 6: the widest interval, with the coverage it has
        j, coverage = 1, 1 - 2 / 2**n
    low, high = (ordered[j - 1], ordered[n - j]) if j else (ordered[0], ordered[-1])
    return PairedRatio(values, statistics.median(values), low, high, coverage)


def paired_ratios(runs: dict[str, list[Result]]) -> dict[str, dict[str, PairedRatio]]:
    out: dict[str, dict[str, PairedRatio]] = {}
    engine_runs = runs.get("engine", [])
    for ref in ("kafka", "mock"):
        pairs = [(e, r) for e, r in zip(engine_runs, runs.get(ref, []), strict=False) if e.ok and r.ok]
        if len(pairs) < 2:
            continue
        produce = paired_ratio([r.produce_s / e.produce_s for e, r in pairs])
        consume = paired_ratio([r.consume_s / e.consume_s for e, r in pairs])
        out[f"engine/{ref}"] = {"produce": produce, "consume": consume}
    return out


def render(results: dict[str, Result], args: argparse.Namespace,
           paired: dict[str, dict[str, PairedRatio]] | None = None, ceilings: list[float] | None = None) -> str:
    lines = [
        f"{args.records:,} records x {args.record_size} B, {args.partitions} partitions, acks={args.acks}, "
        f"replication factor {args.replication_factor}, {args.brokers} broker(s); one producer, then one consumer",
        "",
        f"{'target':<8} {'records':>11} {'produce rec/s':>14} {'produce MB/s':>13} "
        f"{'consume rec/s':>14} {'consume MB/s':>13}",
        "-" * 78,
    ]
    for name, r in results.items():
        if r.ok:
            lines.append(
                f"{name:<8} {r.records:>11,} {r.rate(r.produce_s):>14,.0f} {r.mbps(r.produce_s):>13.1f} "
                f"{r.rate(r.consume_s):>14,.0f} {r.mbps(r.consume_s):>13.1f}"
            )
        else:
            lines.append(f"{name:<8} FAILED: {r.error}")
    lines += ["", "server CPU per record (µs, all the target's processes and threads, during the timed loops):"]
    for name, r in results.items():
        if r.ok:
            lines.append(f"  {name:<8} produce {r.cpu_us_per_record(r.produce_server_cpu_s):6.3f}   "
                         f"consume {r.cpu_us_per_record(r.consume_server_cpu_s):6.3f}")
    lines += ["", "the producing thread while producing (CPU per record; share of the time it was ready but had no core):"]
    for name, r in results.items():
        if r.ok:
            lines.append(f"  {name:<8} {r.cpu_us_per_record(r.produce_client_cpu_s):6.3f} us   "
                         f"waited {r.produce_client_wait_s / r.produce_s:5.1%}")
    rat = ratios(results)
    if rat:
        lines.append("")
        for key, v in rat.items():
            lines.append(f"{key:<14} produce {v['produce']:.2f}x   consume {v['consume']:.2f}x")
    for key, v in (paired or {}).items():
        lines.append(f"{key:<14} paired by repeat, shuffled order: produce {v['produce'].describe()}")
        lines.append(f"{'':<14} {'':<32}consume {v['consume'].describe()}")
    if ceilings:
        ceiling = statistics.median(ceilings)
        reached = ", ".join(f"{name} {r.rate(r.produce_s) / ceiling:.0%}" for name, r in results.items() if r.ok)
        lines += ["", f"producer ceiling (the same produce() loop with no broker): {ceiling:,.0f} rec/s, "
                      f"median of {len(ceilings)}; reached: {reached}"]
    notes = [f"  {name}: {n}" for name, r in results.items() for n in r.notes]
    if notes:
        lines += ["", "notes:", *notes]
    lines.append("  MB = 10^6 bytes of record values; timings exclude cluster start, topic creation, client setup")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=2_000_000)
    ap.add_argument("--record-size", type=int, default=100)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--targets", default="engine,kafka,mock",
                    help="comma-separated, in run order: engine, kafka, mock")
    ap.add_argument("--acks", default="1", choices=["0", "1", "all", "-1"])
    ap.add_argument("--brokers", type=int, default=1, choices=[1, 3],
                    help="brokers per target (3 gives racks a,b,c)")
    ap.add_argument("--replication-factor", type=int, default=1)
    ap.add_argument("--kafka-version", default=None, help="Apache Kafka version for the kafka target")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run the targets this many times, in a shuffled order each time; report each one's "
                         "median and the engine's ratios paired by repeat")
    ap.add_argument("--seed", type=int, default=None, help="seed of the shuffled order of targets per repeat")
    ap.add_argument("--no-ceiling", dest="ceiling", action="store_false",
                    help="skip measuring the produce() loop with no broker")
    args = ap.parse_args(argv)
    if args.records < 1:
        ap.error("--records must be >= 1")
    if args.replication_factor > args.brokers:
        ap.error("--replication-factor cannot exceed --brokers")
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [t for t in targets if t not in TARGETS]
    if unknown or not targets:
        ap.error(f"unknown target(s) {unknown}; choose from {', '.join(TARGETS)}")
    args.target_list = targets
    if args.kafka_version is None:
        from tests.support.apache_kafka import DEFAULT_VERSION

        args.kafka_version = DEFAULT_VERSION
    return args


def run_once(name: str, args: argparse.Namespace) -> Result:
    print(f"[{time.strftime('%H:%M:%S')}] {name}: running ...", file=sys.stderr, flush=True)
    try:
        r = TARGETS[name](args)
    except Exception as exc:  # report and go on with the other targets
        r = Result(name, args.records, args.record_size)
        r.error = f"{type(exc).__name__}: {exc}".strip()[:2000]
    status = (f"produce {r.produce_s:.2f}s, consume {r.consume_s:.2f}s" if r.ok else f"FAILED: {r.error}")
    print(f"[{time.strftime('%H:%M:%S')}] {name}: {status}", file=sys.stderr, flush=True)
    return r


def median_result(runs: list[Result]) -> Result:
    """One Result with the median produce and consume times of several runs of a target."""
    ok = [r for r in runs if r.ok]
    if not ok:
        return runs[-1]
    merged = ok[0]
    if len(runs) > 1:
        merged.produce_s = statistics.median(r.produce_s for r in ok)
        merged.consume_s = statistics.median(r.consume_s for r in ok)
        merged.produce_server_cpu_s = statistics.median(r.produce_server_cpu_s for r in ok)
        merged.produce_client_cpu_s = statistics.median(r.produce_client_cpu_s for r in ok)
        merged.produce_client_wait_s = statistics.median(r.produce_client_wait_s for r in ok)
        merged.consume_server_cpu_s = statistics.median(r.consume_server_cpu_s for r in ok)
        merged.notes.append(f"median of {len(ok)} runs interleaved with the other targets "
                            f"(produce s: {', '.join(f'{r.produce_s:.2f}' for r in ok)})")
    return merged


def run_ceiling(args: argparse.Namespace) -> float:
    rate = producer_ceiling(args.records, args.record_size)
    print(f"[{time.strftime('%H:%M:%S')}] producer ceiling: {rate:,.0f} rec/s", file=sys.stderr, flush=True)
    return rate


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    runs: dict[str, list[Result]] = {name: [] for name in args.target_list}
    ceilings: list[float] = []
    for _ in range(max(1, args.repeat)):
        # A fixed order would give one target the machine's state after another's run every time
        # (dirty pages being written back, a JVM just gone); shuffling spreads that over all of them.
        order = list(args.target_list)
        if args.repeat > 1:
            rng.shuffle(order)
        if args.ceiling:
            ceilings.append(run_ceiling(args))
        for name in order:
            runs[name].append(run_once(name, args))
    results = {name: median_result(rs) for name, rs in runs.items()}
    paired = paired_ratios(runs)
    print(render(results, args, paired, ceilings))
    if args.json:
        import confluent_kafka

        doc = {
            "records": args.records,
            "record_size": args.record_size,
            "partitions": args.partitions,
            "acks": args.acks,
            "brokers": args.brokers,
            "replication_factor": args.replication_factor,
            "kafka_version": args.kafka_version,
            "repeat": args.repeat,
            "results": {k: v.figures() for k, v in results.items()},
            "ratios": ratios(results),
            "paired_ratios": {k: {phase: asdict(pr) for phase, pr in v.items()} for k, v in paired.items()},
            "producer_ceiling_records_per_s": [round(c) for c in ceilings],
            "host": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "confluent_kafka": confluent_kafka.version()[0],
                "librdkafka": confluent_kafka.libversion()[0],
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0 if all(r.ok for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
