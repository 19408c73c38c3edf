"""A Kafka Streams application (tests/support/java/WordCount.java) run as a real JVM process.

The source is compiled once per content into ``<cache>/kafka/<version>/streams-app-<hash>`` with the
machine's javac against the Maven-fetched kafka-streams jars; ``WordCountApp`` starts it, records the
Streams client's state changes it prints, and stops it by PID (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tests.support.apache_kafka import (
    DEFAULT_VERSION,
    KafkaToolError,
    _die_with_parent,
    _require_tool,
    cache_root,
    kafka_streams_distribution,
)

WORD_COUNT_SOURCE = Path(__file__).parent / "java" / "WordCount.java"


def compiled_word_count(version: str = DEFAULT_VERSION) -> Path:
    """Return a directory holding WordCount.class built against kafka-streams ``version``."""
    source = WORD_COUNT_SOURCE.read_bytes()
    digest = hashlib.sha256(source + version.encode()).hexdigest()[:12]
    out = cache_root() / "kafka" / version / f"streams-app-{digest}"
    if (out / "WordCount.class").is_file():
        return out
    javac = _require_tool("javac", "it compiles the Kafka Streams test app")
    jars = kafka_streams_distribution(version)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".streams-app-", dir=out.parent))
    res = subprocess.run([javac, "-nowarn", "-cp", f"{jars}/*", "-d", str(staging), str(WORD_COUNT_SOURCE)],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise KafkaToolError(f"javac could not compile {WORD_COUNT_SOURCE.name}:\n{res.stderr[-3000:]}")
    try:
        staging.rename(out)
    except OSError:  # another process compiled it first
        shutil.rmtree(staging, ignore_errors=True)
    return out


class WordCountApp:
    """``with WordCountApp(bootstrap, source, sink, app_id, state_dir) as app:`` runs the word count
    (lines of ``source`` in, ``word -> count`` as string key and 8-byte big-endian value out to
    ``sink``); ``app.states`` lists the states it went through, ``app.closed_state`` the one
    close() left it in after ``stop()``, ``app.output()`` its stdout and stderr so far.
    ``processing_guarantee`` is Streams' (at_least_once when None, or exactly_once_v2)."""

    def __init__(self, bootstrap: str, source: str, sink: str, app_id: str, state_dir: Path,
                 version: str = DEFAULT_VERSION, *, processing_guarantee: str | None = None):
        java = _require_tool("java", "Kafka Streams runs on the JVM")
        classpath = f"{compiled_word_count(version)}:{kafka_streams_distribution(version)}/*"
        self._log = state_dir.parent / f"{state_dir.name}.log"
        state_dir.mkdir(parents=True, exist_ok=True)
        self._cmd = [java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-Djava.net.preferIPv4Stack=true",
                     "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", classpath, "WordCount",
                     bootstrap, source, sink, app_id, str(state_dir)]
        if processing_guarantee is not None:
            self._cmd.append(processing_guarantee)
        self.states: list[str] = []
        self.closed_state: str | None = None  # the state close() left it in, once stopped
        self._proc: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._reader: threading.Thread | None = None

    def __enter__(self) -> WordCountApp:
        self._proc = subprocess.Popen(self._cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, preexec_fn=_die_with_parent)
        self._reader = threading.Thread(target=self._read, name="streams-app-output", daemon=True)
        self._reader.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.append(line.rstrip("\n"))
            if line.startswith("STATE "):
                self.states.append(line.split()[1])
            elif line.startswith("CLOSED "):
                self.closed_state = line.split()[1]

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def output(self, lines: int = 60) -> str:
        return "\n".join(self._lines[-lines:]) or "(no output)"

    def check(self) -> None:
        """Raise if the app died or its Streams client failed."""
        if "ERROR" in self.states or "PENDING_ERROR" in self.states:
            raise AssertionError(f"the Streams app failed:\n{self.output()}")
        if not self.alive:
            raise AssertionError(f"the Streams app exited ({self._proc and self._proc.returncode}):\n{self.output()}")

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (the app closes its Streams client: leaves the group, commits), SIGKILL if it hangs."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            os.kill(proc.pid, signal.SIGCONT)  # one held by send_signal(SIGSTOP) must run to close
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
        if self._reader is not None:
            self._reader.join(5)
        return proc.returncode

    def kill(self) -> int | None:
        """SIGKILL: the app dies as in a crash, without closing its Streams client or ending a transaction."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        if self._reader is not None:
            self._reader.join(5)
        return proc.returncode

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` (SIGSTOP, SIGCONT...) to the running app."""
        assert self._proc is not None and self._proc.poll() is None, "the Streams app is not running"
        os.kill(self._proc.pid, signum)

    def wait_state(self, state: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while state not in self.states:
            self.check()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Streams app never reached {state} (states: {self.states}):\n{self.output()}")
            time.sleep(0.05)
