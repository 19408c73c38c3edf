"""The failover scenario, runnable against the engine and against real Apache Kafka alike.

A producer with acks=all and idempotence writes numbered records to a replicated topic
while the leader of each partition in turn is SIGKILLed and restarted. Afterwards every
acknowledged record must be readable, in order within its partition.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from confluent_kafka import Producer

from tests.engine.helpers import admin, consume, create_topic


@dataclass
class FailoverResult:
    acknowledged: dict[int, list[int]] = field(default_factory=dict)
    consumed: dict[int, list[int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return sum(len(set(acked) - set(self.consumed.get(p, []))) for p, acked in self.acknowledged.items())

    def out_of_order_partitions(self) -> list[int]:
        return [p for p, values in self.consumed.items() if values != sorted(values)]


def leader_of(cluster, topic: str, partition: int) -> int:
    md = admin(cluster).list_topics(topic, timeout=10).topics[topic]
    return md.partitions[partition].leader


def wait_in_sync(cluster, topic: str, partitions: int, replicas: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        md = admin(cluster).list_topics(topic, timeout=10).topics[topic]
        if all(len(p.isrs) == replicas and p.leader >= 0 for p in md.partitions.values()):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{topic} not back in sync: {[(p.id, p.isrs) for p in md.partitions.values()]}")
        time.sleep(0.2)


def run_failover(cluster, topic: str, partitions: int = 3, kills: int = 3, down_s: float = 1.5) -> FailoverResult:
    create_topic(cluster, topic, partitions=partitions, replication_factor=3, config={"min.insync.replicas": "2"})
    result = FailoverResult({p: [] for p in range(partitions)})
    stop = threading.Event()

    def produce_loop():
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True,
                             "linger.ms": 2, "message.timeout.ms": 60000})

        def on_delivery(err, msg):
            if err:
                result.errors.append(str(err))
            else:
                result.acknowledged[msg.partition()].append(int(msg.value()))

        n = 0
        while not stop.is_set():
            for p in range(partitions):
                while True:
                    try:
                        producer.produce(topic, value=str(n).encode(), partition=p, on_delivery=on_delivery)
                        break
                    except BufferError:  # queue full while the cluster fails over: wait, as apps do
                        producer.poll(0.05)
                        if stop.is_set():
                            break
            n += 1
            producer.poll(0)
            if n % 10 == 0:  # a few thousand records a second: flat out, the client took the cores a restarting JVM needs
                time.sleep(0.005)
        producer.flush(60)

    thread = threading.Thread(target=produce_loop, daemon=True)
    thread.start()
    try:
        time.sleep(1.0)
        for k in range(kills):
            victim = leader_of(cluster, topic, k % partitions)
            cluster.kill(victim)
            time.sleep(down_s)
            cluster.start(victim)
            wait_in_sync(cluster, topic, partitions, 3)
            time.sleep(0.5)
    finally:
        stop.set()
        thread.join(120)
    total = sum(len(v) for v in result.acknowledged.values())
    for msg in consume(cluster, topic, total, timeout=60):
        result.consumed.setdefault(msg.partition(), []).append(int(msg.value()))
    return result
