"""DescribeLogDirs (key 35), versions 1–4.

This broker's log dirs ("disks") with the size of every replica in each, for all topics
(null) or the ones asked for; v4 adds the file system's total and usable bytes. The
offset lag of a replica is how far its log end is behind the partition's high watermark
(0 for leaders). A replica being moved between log dirs is also listed in its target
dir with is_future_key set, its size the bytes copied so far and its lag what is left of
the log end (as Kafka lists a future replica).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(35, 1, 4)
async def handle_describe_log_dirs(request, ctx):
    m = codec.response_module(35, ctx.api_version)
    broker = ctx.broker
    wanted = None
    if request.topics is not None:
        wanted = {(t.topic, p) for t in request.topics for p in t.partitions}
    sizes = broker.logs.sizes_by_dir()
    futures: dict[Path, list] = {}
    for future in broker.replicas.log_dir_moves.in_flight():
        futures.setdefault(future.log_dir, []).append(future)
    results = []
    for log_dir in broker.config.log_dirs:
        by_topic: dict[str, list] = {}
        for (topic, index), size in sorted(sizes.get(Path(log_dir), {}).items()):
            if wanted is not None and (topic, index) not in wanted:
                continue
            partition = broker.replicas.get(topic, index)
            lag = 0
            if partition is not None and not partition.is_leader:
                lag = max(0, partition.high_watermark - partition.log.log_end_offset)
            by_topic.setdefault(topic, []).append(codec.build(
                m.DescribeLogDirsPartition, partition_index=index, partition_size=size, offset_lag=lag,
                is_future_key=False))
        for future in sorted(futures.get(Path(log_dir), ()), key=lambda f: (f.topic, f.index)):
            if wanted is None or (future.topic, future.index) in wanted:
                by_topic.setdefault(future.topic, []).append(codec.build(
                    m.DescribeLogDirsPartition, partition_index=future.index, partition_size=future.size,
                    offset_lag=future.offset_lag, is_future_key=True))
        try:
            st = os.statvfs(log_dir)
            total, usable, error = st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize, ErrorCode.none
        except OSError:
            total, usable, error = -1, -1, ErrorCode.kafka_storage_error
        results.append(codec.build(
            m.DescribeLogDirsResult, error_code=error, log_dir=str(log_dir),
            topics=tuple(codec.build(m.DescribeLogDirsTopic, name=t, partitions=tuple(ps)) for t, ps in by_topic.items()),
            total_bytes=total, usable_bytes=usable))
    return codec.build(m.DescribeLogDirsResponse, throttle_time=timedelta(0), error_code=ErrorCode.none,
                       results=tuple(results))
