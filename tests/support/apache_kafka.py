"""Real Apache Kafka, run from its Maven Central jars, as the reference for tests and benchmarks.

Plain library (no pytest): the fixtures live in ``tests/support/kafka_fixtures.py`` and
``bench/throughput.py`` uses it directly.

``kafka_distribution(version)`` makes sure the jars of ``org.apache.kafka:kafka_2.13:<version>`` with
all their runtime dependencies and a logging binding are in ``<cache>/kafka/<version>/lib``, where
``<cache>`` is ``$PARTITA_CACHE`` or ``~/.cache/partita``. It resolves them with Maven from a
throwaway pom.xml, once; concurrent callers serialise on a file lock.

``KafkaCluster`` runs 1..n KRaft nodes, each ``process.roles=broker,controller`` and all of them
voters, so a 3-node cluster keeps its quorum when one node dies. Every node listens on 127.0.0.1
only, on free ports that stay the same across restarts.

``sasl_users={"alice": "alice-secret"}`` (KRaft only) adds a SASL_PLAINTEXT listener on every node,
next to the PLAINTEXT one, accepting PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for those users: PLAIN
from a JAAS config in server.properties, SCRAM from credentials written into the metadata log at
format time (``StorageTool format --add-scram``). Brokers and controllers still talk PLAINTEXT to
each other; ``.sasl_bootstrap`` lists the SASL listeners.

Java 17 and Maven must be on PATH (``scripts/install --test`` installs them); when they are not,
``KafkaToolError`` says so: nothing is skipped silently.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = [
    "DEFAULT_VERSION",
    "KafkaCluster",
    "KafkaStartError",
    "KafkaToolError",
    "cache_root",
    "kafka_distribution",
    "kafka_streams_distribution",
    "kafka_tools_distribution",
    "write_logging_config",
]

DEFAULT_VERSION = "4.1.1"

SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
SASL_LISTENER = "SASL_PLAINTEXT"
# Characters a user name or password may hold: they go unescaped into a JAAS config string and into
# StorageTool's ``SCRAM-SHA-256=[name=...,password=...]`` syntax.
_SASL_NAME = re.compile(r"[A-Za-z0-9._@-]+")
_SASL_PASSWORD = re.compile(r"[^\s\"\\,=\[\];]+")

# Logging bindings, per Kafka major version. Kafka 4 logs through SLF4J 2 to Log4j 2; Kafka 3 through
# SLF4J 1.7 to (re)log4j 1.
_LOGGING_DEPS_4 = (
    ("org.slf4j", "slf4j-api", "2.0.17"),
    ("org.apache.logging.log4j", "log4j-api", "2.24.3"),
    ("org.apache.logging.log4j", "log4j-core", "2.24.3"),
    ("org.apache.logging.log4j", "log4j-slf4j2-impl", "2.24.3"),
)
_LOGGING_DEPS_3 = (
    ("org.slf4j", "slf4j-api", "1.7.36"),
    ("ch.qos.reload4j", "reload4j", "1.2.25"),
    ("org.slf4j", "slf4j-reload4j", "1.7.36"),
)

_MVN_TIMEOUT_S = 900.0


class KafkaToolError(RuntimeError):
    """Java or Maven is missing, or Maven could not resolve the Kafka jars."""


class KafkaStartError(RuntimeError):
    """A Kafka node did not format, start or become ready; the message carries its log tail."""


# --------------------------------------------------------------------------------------------------
# distribution


def cache_root() -> Path:
    env = os.environ.get("PARTITA_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "partita"


def _major(version: str) -> int:
    try:
        return int(version.split(".", 1)[0])
    except ValueError as exc:
        raise ValueError(f"not a Kafka version: {version!r}") from exc


def _require_tool(name: str, hint: str) -> str:
    if name in ("java", "javac"):
        java_home = os.environ.get("JAVA_HOME")
        if java_home and (Path(java_home) / "bin" / name).is_file():
            return str(Path(java_home) / "bin" / name)
    path = shutil.which(name)
    if not path:
        raise KafkaToolError(
            f"{name!r} is not on PATH: the Apache Kafka reference needs it ({hint}). "
            "Run scripts/install --test, which installs Java 17 (with javac) and Maven."
        )
    return path


def _pom(deps: Iterable[tuple[str, str, str]]) -> str:
    dep_xml = "\n".join(
        f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>"
        for g, a, v in deps
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>partita.throwaway</groupId>
  <artifactId>kafka-distribution</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{dep_xml}
  </dependencies>
</project>
"""


def kafka_distribution(version: str = DEFAULT_VERSION) -> Path:
    """Return the directory holding every jar Kafka ``version`` needs to run (fetching them once)."""
    deps = [("org.apache.kafka", "kafka_2.13", version)]
    deps += list(_LOGGING_DEPS_4 if _major(version) >= 4 else _LOGGING_DEPS_3)
    return _fetch_jars(version, "lib", ".complete", deps)


def kafka_tools_distribution(version: str = DEFAULT_VERSION) -> Path:
    """Return the directory holding ``org.apache.kafka:kafka-tools:<version>`` and its dependencies, for
    the command-line tools that live outside the broker's jars (TransactionsCommand, AclCommand...).
    Run them with ``-cp '<kafka_distribution()>/*:<this>/*'``."""
    return _fetch_jars(version, "tools-lib", ".tools-complete", [("org.apache.kafka", "kafka-tools", version)])


def kafka_streams_distribution(version: str = DEFAULT_VERSION) -> Path:
    """Return the directory holding ``org.apache.kafka:kafka-streams:<version>`` with its dependencies
    and a simple SLF4J binding (warnings and errors on stderr), for running a Streams app on its own."""
    return _fetch_jars(version, "streams-lib", ".streams-complete",
                       [("org.apache.kafka", "kafka-streams", version), ("org.slf4j", "slf4j-simple", "1.7.36")])


def _fetch_jars(version: str, dirname: str, marker_name: str, deps: list[tuple[str, str, str]]) -> Path:
    """Copy ``deps`` with their runtime dependencies into ``<cache>/kafka/<version>/<dirname>``, once."""
    base = cache_root() / "kafka" / version
    lib = base / dirname
    marker = base / marker_name
    if marker.is_file() and lib.is_dir():
        return lib
    mvn = _require_tool("mvn", "it fetches the Kafka jars from Maven Central")
    _require_tool("java", "Kafka runs on the JVM")
    base.mkdir(parents=True, exist_ok=True)
    _group, main_artifact, _version = deps[0]
    with open(base.parent / f".{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if marker.is_file() and lib.is_dir():
                return lib
            with tempfile.TemporaryDirectory(prefix="partita-kafka-pom-") as tmp:
                tmpdir = Path(tmp)
                (tmpdir / "pom.xml").write_text(_pom(deps))
                staging = base / f".{dirname}-{os.getpid()}"
                shutil.rmtree(staging, ignore_errors=True)
                cmd = [
                    mvn, "-q", "-B", "-f", str(tmpdir / "pom.xml"),
                    "dependency:copy-dependencies",
                    "-DincludeScope=runtime",
                    f"-DoutputDirectory={staging}",
                ]
                try:
                    res = subprocess.run(
                        cmd, cwd=tmpdir, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                        timeout=_MVN_TIMEOUT_S,
                    )
                except subprocess.TimeoutExpired as exc:
                    shutil.rmtree(staging, ignore_errors=True)
                    raise KafkaToolError(
                        f"Maven took longer than {_MVN_TIMEOUT_S:.0f}s to fetch {main_artifact} {version}") from exc
                if res.returncode != 0:
                    shutil.rmtree(staging, ignore_errors=True)
                    out = (res.stdout + res.stderr)[-4000:]
                    raise KafkaToolError(
                        f"Maven could not fetch {main_artifact} {version} (exit {res.returncode}):\n{out}")
                if not (staging / f"{main_artifact}-{version}.jar").is_file():
                    shutil.rmtree(staging, ignore_errors=True)
                    raise KafkaToolError(
                        f"Maven ran but {main_artifact}-{version}.jar is not among the jars it copied")
                shutil.rmtree(lib, ignore_errors=True)
                staging.rename(lib)
            marker.write_text(f"org.apache.kafka:{main_artifact}:{version}\n")
            return lib
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_logging_config(version: str, dest_dir: Path) -> list[str]:
    """Write a quiet logging config into ``dest_dir`` and return the JVM flags that select it.

    Everything at WARN and above goes to ``${kafka.logs.dir}/server.log``; ERROR and above is also
    printed on stdout, which KafkaCluster captures.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    pattern = "[%d] %p %m (%c)%n"
    if _major(version) >= 4:
        path = dest_dir / "log4j2.properties"
        path.write_text(
            "status = error\n"
            "name = partita-kafka-reference\n"
            "appender.file.type = File\n"
            "appender.file.name = FILE\n"
            "appender.file.fileName = ${sys:kafka.logs.dir}/server.log\n"
            "appender.file.layout.type = PatternLayout\n"
            f"appender.file.layout.pattern = {pattern}\n"
            "appender.out.type = Console\n"
            "appender.out.name = STDOUT\n"
            "appender.out.layout.type = PatternLayout\n"
            f"appender.out.layout.pattern = {pattern}\n"
            "appender.out.filter.threshold.type = ThresholdFilter\n"
            "appender.out.filter.threshold.level = error\n"
            "rootLogger.level = warn\n"
            "rootLogger.appenderRef.file.ref = FILE\n"
            "rootLogger.appenderRef.out.ref = STDOUT\n"
        )
        return [f"-Dlog4j2.configurationFile={path}"]
    path = dest_dir / "log4j.properties"
    path.write_text(
        "log4j.rootLogger=WARN, file, stdout\n"
        "log4j.appender.file=org.apache.log4j.FileAppender\n"
        "log4j.appender.file.File=${kafka.logs.dir}/server.log\n"
        "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
        f"log4j.appender.file.layout.ConversionPattern={pattern}\n"
        "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
        "log4j.appender.stdout.Threshold=ERROR\n"
        "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
        f"log4j.appender.stdout.layout.ConversionPattern={pattern}\n"
    )
    return [f"-Dlog4j.configuration=file:{path}"]


# --------------------------------------------------------------------------------------------------
# cluster


def _free_ports(count: int) -> list[int]:
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _new_cluster_id() -> str:
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} unreadable)"
    return "\n".join(text.splitlines()[-lines:]) or f"({path.name} is empty)"


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


# Every node process any KafkaCluster started, so that an interpreter that exits without close()
# (a crashed test run) does not leave JVMs behind.
_LIVE_CLUSTERS: weakref.WeakSet[KafkaCluster] = weakref.WeakSet()


def _close_all_at_exit() -> None:
    for cluster in list(_LIVE_CLUSTERS):
        with contextlib.suppress(Exception):
            cluster.close(timeout=5.0)


atexit.register(_close_all_at_exit)


class _Node:
    def __init__(
        self, node_id: int, port: int, controller_port: int, rack: str | None, home: Path, sasl_port: int | None = None
    ):
        self.id = node_id
        self.port = port
        self.controller_port = controller_port
        self.sasl_port = sasl_port
        self.rack = rack
        self.home = home
        self.proc: subprocess.Popen[bytes] | None = None
        self.stdout_path = home / "stdout.log"
        self.logs_dir = home / "logs"
        self.config_path = home / "server.properties"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class KafkaCluster:
    """1..n Apache Kafka nodes in KRaft mode (combined broker+controller), on 127.0.0.1.

    ``mode="zk"`` (Kafka 3.x only) runs brokers with a ZooKeeper server instead (from the ZooKeeper
    jar among Kafka 3's dependencies, on 127.0.0.1); ``.zookeeper`` is then its ``host:port``.

    ``sasl_users`` (user -> password, KRaft only) adds a SASL_PLAINTEXT listener per node for PLAIN and
    SCRAM-SHA-256/512; ``.sasl_bootstrap`` and ``.sasl_client_config(user, mechanism)`` point at it.

    ``with KafkaCluster(brokers=3, racks=("a", "b", "c"), log_dirs=2, workdir=tmp) as kc:``
    starts, waits until every node answers Metadata listing every node, and stops them all on exit.
    """

    def __init__(
        self,
        brokers: int = 1,
        racks: Iterable[str] | None = None,
        log_dirs: int = 1,
        workdir: Path | str | None = None,
        version: str = DEFAULT_VERSION,
        *,
        heap: str = "256m",
        jvm_options: Iterable[str] = (),
        extra_config: Mapping[str, object] | None = None,
        start_timeout: float = 90.0,
        die_with_parent: bool = True,
        mode: str = "kraft",
        sasl_users: Mapping[str, str] | None = None,
    ):
        if brokers < 1:
            raise ValueError("brokers must be >= 1")
        if log_dirs < 1:
            raise ValueError("log_dirs must be >= 1")
        if mode not in ("kraft", "zk"):
            raise ValueError("mode is 'kraft' or 'zk'")
        if mode == "zk" and _major(version) >= 4:
            raise ValueError(f"Kafka {version} has no ZooKeeper mode: use a 3.x version (e.g. 3.9.1)")
        self.sasl_users = dict(sasl_users or {})
        if self.sasl_users and mode != "kraft":
            raise ValueError("sasl_users needs mode='kraft' (SCRAM credentials are written at format time)")
        for user, password in self.sasl_users.items():
            if not _SASL_NAME.fullmatch(user):
                raise ValueError(f"SASL user name {user!r}: use letters, digits and . _ @ - only")
            if not _SASL_PASSWORD.fullmatch(password):
                raise ValueError(f"password of SASL user {user!r}: no spaces, quotes, backslashes or , = [ ] ;")
        self.mode = mode
        self.version = version
        self.brokers = brokers
        self.log_dirs = log_dirs
        self.heap = heap
        self.jvm_options = list(jvm_options)
        self.extra_config = dict(extra_config or {})
        self.start_timeout = start_timeout
        self.die_with_parent = die_with_parent
        rack_list = list(racks) if racks is not None else None
        if rack_list is not None and not rack_list:
            raise ValueError("racks must name at least one rack, or be None")
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="partita-kafka-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cluster_id = _new_cluster_id()
        # per node: client port, controller port; then the ZooKeeper port; then SASL ports, if any
        ports = _free_ports(2 * brokers + 1 + (brokers if self.sasl_users else 0))
        self.zookeeper_port = ports[2 * brokers] if mode == "zk" else None
        sasl_ports = ports[2 * brokers + 1 :]
        self._zk_proc: subprocess.Popen[bytes] | None = None
        self._nodes: dict[int, _Node] = {}
        for i in range(brokers):
            node_id = i + 1
            rack = rack_list[i % len(rack_list)] if rack_list else None
            self._nodes[node_id] = _Node(
                node_id, ports[2 * i], ports[2 * i + 1], rack, self.workdir / f"node-{node_id}",
                sasl_ports[i] if sasl_ports else None,
            )
        self._lib: Path | None = None
        self._java: str | None = None
        self._jvm_logging: list[str] = []
        self._formatted = False
        self._lock = threading.Lock()
        self._closed = False
        self._reported_crashes: set[int] = set()

    # ---- public properties

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:p1,127.0.0.1:p2,...`` for every node (live or not)."""
        return ",".join(f"127.0.0.1:{n.port}" for n in self._nodes.values())

    @property
    def sasl_bootstrap(self) -> str:
        """``127.0.0.1:s1,...``: every node's SASL_PLAINTEXT listener. Raises when there is none."""
        if not self.sasl_users:
            raise KafkaStartError("this KafkaCluster has no SASL listener: pass sasl_users={user: password}")
        return ",".join(f"127.0.0.1:{n.sasl_port}" for n in self._nodes.values())

    def sasl_address(self, node_id: int) -> str:
        node = self._node(node_id)
        if node.sasl_port is None:
            raise KafkaStartError("this KafkaCluster has no SASL listener: pass sasl_users={user: password}")
        return f"127.0.0.1:{node.sasl_port}"

    def sasl_client_config(self, user: str, mechanism: str = "PLAIN", password: str | None = None,
                           **extra: object) -> dict[str, object]:
        """A confluent-kafka config for the SASL listener, as ``user`` with its password (or ``password``)."""
        if mechanism not in SASL_MECHANISMS:
            raise ValueError(f"mechanism is one of {SASL_MECHANISMS}")
        return {
            "bootstrap.servers": self.sasl_bootstrap,
            "security.protocol": SASL_LISTENER,
            "sasl.mechanism": mechanism,
            "sasl.username": user,
            "sasl.password": self.sasl_users[user] if password is None else password,
            **extra,
        }

    @property
    def zookeeper(self) -> str | None:
        """``127.0.0.1:port`` of the ZooKeeper server in ``mode="zk"``, else None."""
        return f"127.0.0.1:{self.zookeeper_port}" if self.zookeeper_port else None

    @property
    def broker_ids(self) -> list[int]:
        return list(self._nodes)

    @property
    def live_broker_ids(self) -> list[int]:
        return [i for i, n in self._nodes.items() if n.alive]

    def pid(self, node_id: int) -> int | None:
        node = self._node(node_id)
        return node.proc.pid if node.alive and node.proc else None

    def port(self, node_id: int) -> int:
        return self._node(node_id).port

    def rack(self, node_id: int) -> str | None:
        return self._node(node_id).rack

    def address(self, node_id: int) -> str:
        return f"127.0.0.1:{self._node(node_id).port}"

    def log_dirs_of(self, node_id: int) -> list[Path]:
        node = self._node(node_id)
        return [node.home / f"data-{d}" for d in range(self.log_dirs)]

    def log_tail(self, node_id: int, lines: int = 40) -> str:
        node = self._node(node_id)
        return (
            f"--- node {node_id} stdout ({node.stdout_path}):\n{_tail(node.stdout_path, lines)}\n"
            f"--- node {node_id} server.log:\n{_tail(node.logs_dir / 'server.log', lines)}"
        )

    def client_config(self, **extra: object) -> dict[str, object]:
        """A confluent-kafka config pointing at this cluster."""
        return {"bootstrap.servers": self.bootstrap, **extra}

    # ---- lifecycle

    def __enter__(self) -> KafkaCluster:
        try:
            self.start_all()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start_all(self, timeout: float | None = None) -> None:
        """Fetch, format (first time), start every node that is not running, and wait until ready."""
        self._prepare()
        if self.mode == "zk":
            self._start_zookeeper()
        for node_id, node in self._nodes.items():
            if not node.alive:
                self._spawn(node_id)
        self.wait_ready(timeout)

    def start(self, node_id: int, timeout: float | None = None, wait: bool = True) -> None:
        """(Re)start one node with the data it had, then wait until the cluster is ready."""
        self._prepare()
        if self._node(node_id).alive:
            raise KafkaStartError(f"node {node_id} is already running (pid {self.pid(node_id)})")
        self._spawn(node_id)
        if wait:
            self.wait_ready(timeout)

    def kill(self, node_id: int) -> None:
        """SIGKILL one node and reap it."""
        node = self._node(node_id)
        if node.proc is not None and node.proc.poll() is None:
            node.proc.kill()
            node.proc.wait()

    def stop(self, node_id: int, timeout: float = 60.0) -> None:
        """SIGTERM one node and wait for it to exit (SIGKILL after ``timeout``)."""
        node = self._node(node_id)
        if node.proc is None or node.proc.poll() is not None:
            return
        node.proc.terminate()
        try:
            node.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            node.proc.kill()
            node.proc.wait()

    def close(self, timeout: float = 20.0, *, graceful: bool = True) -> None:
        """Stop every node by PID: SIGTERM all, then SIGKILL those still running after ``timeout``.
        ``graceful=False`` kills at once: for a cluster whose data nobody reads again (a KRaft
        quorum shutting down all at once spends 5-15 s in controlled shutdown)."""
        with self._lock:
            procs = [n.proc for n in self._nodes.values() if n.proc is not None and n.proc.poll() is None]
            for p in procs:
                with contextlib.suppress(ProcessLookupError):
                    p.terminate() if graceful else p.kill()
            deadline = time.monotonic() + timeout
            for p in procs:
                try:
                    p.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            if self._zk_proc is not None and self._zk_proc.poll() is None:
                self._zk_proc.terminate()
                try:
                    self._zk_proc.wait(10)
                except subprocess.TimeoutExpired:
                    self._zk_proc.kill()
                    self._zk_proc.wait()
            self._closed = True
            _LIVE_CLUSTERS.discard(self)
            if self._own_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until every live node answers a Metadata request that lists exactly the live nodes."""
        from confluent_kafka.admin import AdminClient

        timeout = self.start_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        admins: dict[int, AdminClient] = {}
        last_problem = "no answer yet"
        while True:
            self._check_not_crashed()
            live = self.live_broker_ids
            if not live:
                raise KafkaStartError("no Kafka node is running")
            ok = True
            for node_id in live:
                admin = admins.get(node_id)
                if admin is None:
                    admin = admins[node_id] = AdminClient({
                        "bootstrap.servers": self.address(node_id),
                        "log_level": 0,
                        "socket.connection.setup.timeout.ms": 5000,
                    })
                try:
                    md = admin.list_topics(timeout=5)
                except Exception as exc:  # KafkaException: transport errors, timeouts
                    ok = False
                    last_problem = f"node {node_id}: {exc}"
                    break
                seen = sorted(md.brokers)
                if seen != sorted(live):
                    ok = False
                    last_problem = f"node {node_id} lists brokers {seen}, live nodes are {sorted(live)}"
                    break
            if ok:
                for node_id in live:
                    sasl_port = self._node(node_id).sasl_port
                    if sasl_port is None:
                        continue
                    try:
                        socket.create_connection(("127.0.0.1", sasl_port), timeout=2).close()
                    except OSError as exc:
                        ok = False
                        last_problem = f"node {node_id}: SASL listener 127.0.0.1:{sasl_port}: {exc}"
                        break
            if ok:
                return
            if time.monotonic() >= deadline:
                tails = "\n".join(self.log_tail(i, 25) for i in live)
                raise KafkaStartError(
                    f"Kafka {self.version} cluster not ready after {timeout:.0f}s ({last_problem})\n{tails}"
                )
            time.sleep(0.5)

    # ---- internals

    def _node(self, node_id: int) -> _Node:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise KeyError(f"no Kafka node {node_id}; nodes are {self.broker_ids}") from None

    def _check_not_crashed(self) -> None:
        for node_id, node in self._nodes.items():
            if node.proc is not None and node.proc.poll() is not None and node.proc.returncode not in (
                -signal.SIGKILL, -signal.SIGTERM, 143, 0,
            ) and node_id not in self._reported_crashes:
                self._reported_crashes.add(node_id)
                raise KafkaStartError(
                    f"Kafka node {node_id} exited with code {node.proc.returncode}\n{self.log_tail(node_id)}"
                )

    def _prepare(self) -> None:
        if self._closed:
            raise KafkaStartError("this KafkaCluster was closed")
        if self._lib is None:
            self._java = _require_tool("java", "Kafka runs on the JVM")
            self._lib = kafka_distribution(self.version)
            self._jvm_logging = write_logging_config(self.version, self.workdir)
            _LIVE_CLUSTERS.add(self)
        if not self._formatted:
            for node_id in self._nodes:
                self._write_config(node_id)
            if self.mode == "kraft":
                self._format_all()
            self._formatted = True

    def _properties(self, node: _Node) -> dict[str, object]:
        n = self.brokers
        props: dict[str, object]
        if self.mode == "zk":
            props = {
                "broker.id": node.id,
                "zookeeper.connect": self.zookeeper,
                "listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
                "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
            }
        else:
            voters = ",".join(f"{i}@127.0.0.1:{m.controller_port}" for i, m in self._nodes.items())
            props = {
                "process.roles": "broker,controller",
                "node.id": node.id,
                "controller.quorum.voters": voters,
                "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
                "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
                "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "controller.listener.names": "CONTROLLER",
            }
        props.update({
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": ",".join(str(p) for p in self.log_dirs_of(node.id)),
            "num.partitions": 1,
            "auto.create.topics.enable": "true",
            "group.initial.rebalance.delay.ms": 0,
            # KIP-848 members heartbeat every 500 ms, not 5 s: each step of a reconciliation waits for
            # a heartbeat, so the consumer-protocol scenarios would otherwise take seconds per move
            "group.consumer.min.heartbeat.interval.ms": 500,
            "group.consumer.heartbeat.interval.ms": 500,
            # the cleaner looks for dirty logs every 100 ms, not 15 s, so that compaction tests
            # need not wait for it (a static setting: a dynamic change only applies after a backoff)
            "log.cleaner.backoff.ms": 100,
            # a 16 MB offset map, not 128 MB: the heap is 256 MB, and every dynamic change of a cleaner
            # setting (a test of kafka-configs makes two) allocates a new map before the old one is freed
            "log.cleaner.dedupe.buffer.size": 16 * 1024 * 1024,
            # the coordinator looks for transactions past their timeout every 500 ms, not 10 s, so that
            # a test of that abort need not wait for it (static too)
            "transaction.abort.timed.out.transaction.cleanup.interval.ms": 500,
            "offsets.topic.replication.factor": min(3, n),
            "transaction.state.log.replication.factor": min(3, n),
            "transaction.state.log.min.isr": min(2, n),
            "share.coordinator.state.topic.replication.factor": min(3, n),
            "share.coordinator.state.topic.min.isr": min(2, n),
        })
        if node.rack is not None:
            props["broker.rack"] = node.rack
        if node.sasl_port is not None:
            self._add_sasl_listener(props, node)
        props.update(self.extra_config)
        return props

    def _add_sasl_listener(self, props: dict[str, object], node: _Node) -> None:
        """SASL_PLAINTEXT next to PLAINTEXT for clients; PLAIN users in the listener's JAAS config,
        SCRAM users in the metadata log (``_format_all``)."""
        sasl = f"{SASL_LISTENER}://127.0.0.1:{node.sasl_port}"
        props["listeners"] = f"{props['listeners']},{sasl}"
        props["advertised.listeners"] = f"{props['advertised.listeners']},{sasl}"
        props["listener.security.protocol.map"] = f"{props['listener.security.protocol.map']},{SASL_LISTENER}:{SASL_LISTENER}"
        prefix = f"listener.name.{SASL_LISTENER.lower()}"
        props[f"{prefix}.sasl.enabled.mechanisms"] = ",".join(SASL_MECHANISMS)
        users = " ".join(f'user_{u}="{p}"' for u, p in self.sasl_users.items())
        props[f"{prefix}.plain.sasl.jaas.config"] = (
            f"org.apache.kafka.common.security.plain.PlainLoginModule required {users};"
        )
        for mech in SASL_MECHANISMS[1:]:
            props[f"{prefix}.{mech.lower()}.sasl.jaas.config"] = (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            )

    def _write_config(self, node_id: int) -> None:
        node = self._node(node_id)
        node.home.mkdir(parents=True, exist_ok=True)
        node.logs_dir.mkdir(exist_ok=True)
        for d in self.log_dirs_of(node_id):
            d.mkdir(exist_ok=True)
        lines = [f"{k}={v}" for k, v in self._properties(node).items()]
        node.config_path.write_text("\n".join(lines) + "\n")

    def _jvm(self, node: _Node) -> list[str]:
        assert self._java and self._lib
        return [
            self._java,
            f"-Xmx{self.heap}", "-Xms64m",
            "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            *self.jvm_options,
            "-Djava.awt.headless=true",
            "-Djava.net.preferIPv4Stack=true",
            f"-Dkafka.logs.dir={node.logs_dir}",
            *self._jvm_logging,
            "-cp", f"{self._lib}/*",
        ]

    def _format_all(self) -> None:
        """Format every node's log dirs with the cluster id (in parallel: each is a JVM start)."""
        running: list[tuple[int, list[str], subprocess.Popen[bytes]]] = []
        for node_id, node in self._nodes.items():
            cmd = [
                *self._jvm(node), "kafka.tools.StorageTool", "format",
                "--config", str(node.config_path),
                "--cluster-id", self.cluster_id,
                "--ignore-formatted",
            ]
            scram = [  # SCRAM credentials go into the metadata log (KRaft has no other store before start)
                arg
                for user, password in self.sasl_users.items()
                for mech in SASL_MECHANISMS[1:]
                for arg in ("--add-scram", f"{mech}=[name={user},password={password}]")
            ]
            with open(node.home / "format.log", "wb") as out:
                proc = subprocess.Popen([*cmd, *scram], cwd=node.home, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT)
            running.append((node_id, cmd, proc))
        failures = []
        for node_id, cmd, proc in running:
            try:
                rc = proc.wait(180)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            if rc != 0:
                node = self._node(node_id)
                failures.append(
                    f"formatting Kafka node {node_id} failed (exit {rc}): {' '.join(cmd[-7:])}\n"
                    f"{_tail(node.home / 'format.log')}"
                )
        if failures:
            raise KafkaStartError("\n".join(failures))

    def _start_zookeeper(self) -> None:
        if self._zk_proc is not None and self._zk_proc.poll() is None:
            return
        assert self._java and self._lib and self.zookeeper_port
        home = self.workdir / "zookeeper"
        (home / "data").mkdir(parents=True, exist_ok=True)
        config = home / "zookeeper.properties"
        config.write_text(
            f"dataDir={home / 'data'}\n"
            f"clientPort={self.zookeeper_port}\n"
            "clientPortAddress=127.0.0.1\n"
            "maxClientCnxns=0\n"
            "admin.enableServer=false\n"
            "tickTime=2000\n"
        )
        stdout = home / "stdout.log"
        with open(stdout, "ab") as out:
            self._zk_proc = subprocess.Popen(
                [self._java, "-Xmx128m", f"-Dkafka.logs.dir={home}", *self._jvm_logging,
                 "-cp", f"{self._lib}/*", "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(config)],
                cwd=home, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent if self.die_with_parent else None,
            )
        deadline = time.monotonic() + 60
        while True:  # ready when it answers the "srvr" four-letter word (allowed by default)
            if self._zk_proc.poll() is not None:
                raise KafkaStartError(f"ZooKeeper exited with code {self._zk_proc.returncode}\n{_tail(stdout)}")
            with contextlib.suppress(OSError), socket.create_connection(
                ("127.0.0.1", self.zookeeper_port), timeout=2
            ) as sock:
                sock.sendall(b"srvr")
                if b"Zookeeper version" in sock.recv(4096):
                    return
            if time.monotonic() > deadline:
                raise KafkaStartError(f"ZooKeeper not answering on {self.zookeeper} after 60s\n{_tail(stdout)}")
            time.sleep(0.3)

    def _spawn(self, node_id: int) -> None:
        node = self._node(node_id)
        self._reported_crashes.discard(node_id)
        out = open(node.stdout_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            out.write(f"\n===== start {time.strftime('%H:%M:%S')} =====\n".encode())
            out.flush()
            node.proc = subprocess.Popen(
                [*self._jvm(node), "kafka.Kafka", str(node.config_path)],
                cwd=node.home,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if self.die_with_parent else None,
            )
        finally:
            out.close()
