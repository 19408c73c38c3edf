"""AlterReplicaLogDirs (key 34), versions 1–2: move replicas between this broker's log dirs.

As in Kafka, the answer comes once the move has started: a hosted replica is copied to
the new log dir in the background while it keeps serving, and swapped in when the copy
has caught up (broker/log_dir_moves.py; DescribeLogDirs shows it as a future replica until
then). A replica this broker does not host yet is created in the chosen dir when it is
assigned here. An unknown dir is LOG_DIR_NOT_FOUND.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(34, 1, 2)
async def handle_alter_replica_log_dirs(request, ctx):
    m = codec.response_module(34, ctx.api_version)
    broker = ctx.broker
    log_dirs = {Path(d) for d in broker.config.log_dirs}
    results: dict[str, list] = {}
    for d in request.dirs:
        target = Path(d.path)
        for t in d.topics:
            for index in t.partitions:
                if target not in log_dirs:
                    error = ErrorCode.log_dir_not_found
                elif broker.metadata.partition(t.name, index) is None:
                    error = ErrorCode.unknown_topic_or_partition
                else:
                    error = broker.replicas.move_to_log_dir(t.name, index, target)
                results.setdefault(t.name, []).append(
                    codec.build(m.AlterReplicaLogDirPartitionResult, partition_index=index, error_code=error))
    return codec.build(
        m.AlterReplicaLogDirsResponse, throttle_time=timedelta(0),
        results=tuple(codec.build(m.AlterReplicaLogDirTopicResult, topic_name=name, partitions=tuple(ps))
                      for name, ps in results.items()))

