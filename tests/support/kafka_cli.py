"""Apache Kafka's own command-line tools (kafka-transactions.sh, kafka-configs.sh...), run with the
machine's Java from the Maven-fetched jars (tests/support/apache_kafka.py), against any bootstrap address.

Each run is a JVM start (about 1–2 s): tests keep to a few.
"""

from __future__ import annotations

import subprocess

from tests.support.apache_kafka import (
    DEFAULT_VERSION,
    _require_tool,
    cache_root,
    kafka_distribution,
    kafka_tools_distribution,
    write_logging_config,
)

TRANSACTIONS_COMMAND = "org.apache.kafka.tools.TransactionsCommand"
CONFIG_COMMAND = "kafka.admin.ConfigCommand"
# the Java producer and group consumer, reporting every event as a JSON line (Kafka's system tests use them)
VERIFIABLE_PRODUCER = "org.apache.kafka.tools.VerifiableProducer"
VERIFIABLE_CONSUMER = "org.apache.kafka.tools.VerifiableConsumer"


def run_kafka_tool(main_class: str, *args: str, version: str = DEFAULT_VERSION,
                   timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run one Kafka tool to completion; its exit code, stdout and stderr are the caller's to judge."""
    java = _require_tool("java", "Kafka's tools run on the JVM")
    classpath = f"{kafka_distribution(version)}/*:{kafka_tools_distribution(version)}/*"
    logs = cache_root() / "kafka" / version / "cli-logs"
    cmd = [
        java, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-Djava.net.preferIPv4Stack=true",
        f"-Dkafka.logs.dir={logs}", *write_logging_config(version, logs),
        "-cp", classpath, main_class, *args,
    ]
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
