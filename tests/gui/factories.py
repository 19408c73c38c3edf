"""Small hand-made snapshots for unit tests."""

from __future__ import annotations

from partita.gui.domain.snapshot import (
    Broker,
    ClusterSnapshot,
    CommittedOffset,
    Group,
    GroupMember,
    LogDir,
    Partition,
    Topic,
)


def brokers(alive=(1, 2, 3), all_ids=(1, 2, 3)):
    racks = {1: "a", 2: "b", 3: "c"}
    return tuple(
        Broker(i, "127.0.0.1", 9090 + i, racks.get(i), i in alive, (LogDir(f"/d{i}/a", 1000 * i),))
        for i in all_ids
    )


def snapshot(
    *,
    taken_at=100.0,
    alive=(1, 2, 3),
    partitions=None,
    min_isr=2,
    groups=(),
    controller=1,
):
    if partitions is None:
        partitions = [
            Partition("orders", 0, 1, (1, 2, 3), (1, 2, 3), start_offset=0, end_offset=100, size_bytes=5000),
            Partition("orders", 1, 2, (2, 3, 1), (2, 3, 1), start_offset=10, end_offset=50, size_bytes=3000),
            Partition("orders", 2, 3, (3, 1, 2), (3, 1, 2), start_offset=0, end_offset=0, size_bytes=0),
        ]
    by_topic: dict[str, list[Partition]] = {}
    for p in partitions:
        by_topic.setdefault(p.topic, []).append(p)
    topics = tuple(Topic(n, tuple(ps), min_insync_replicas=min_isr) for n, ps in sorted(by_topic.items()))
    return ClusterSnapshot(
        taken_at=taken_at,
        bootstrap="127.0.0.1:9091",
        cluster_id="abc",
        controller_id=controller,
        brokers=brokers(alive),
        topics=topics,
        groups=tuple(groups),
    )


def group(gid="billing", offsets=((("orders", 0), 60), (("orders", 1), 50)), members=1):
    ms = tuple(
        GroupMember(f"m{i}", f"client-{i}", "/10.0.0.1", None, (("orders", 0), ("orders", 1))) for i in range(members)
    )
    return Group(
        gid,
        "Stable",
        "consumer",
        "range",
        1,
        ms,
        tuple(CommittedOffset(t, p, o) for (t, p), o in offsets),
    )
