"""The console sees a replica moving between two log dirs of its broker, on the engine and on
Apache Kafka alike: DescribeLogDirs lists the copy as a future replica until the move is done."""

from __future__ import annotations

from partita.gui.domain.tables import brokers_table
from partita.gui.services.cluster_client import ClusterClient, KafkaReader
from partita.gui.services.settings import ConnectionSettings
from tests.support.disk_move import DiskMove

from .conftest import wait_snapshot


def target_dir(snapshot, move: DiskMove):
    broker = snapshot.brokers_by_id.get(move.broker)
    return next((d for d in broker.log_dirs if d.path == move.target), None) if broker else None


def test_the_console_shows_a_replica_moving_in_until_the_move_is_done(three_brokers):
    move = DiskMove(three_brokers)
    client = ClusterClient(KafkaReader(ConnectionSettings(bootstrap=three_brokers.bootstrap), timeout=5))
    try:
        move.throttle(3_000_000)  # 36 MB at 3 MB/s: some 12 s of moving to look at
        move.start()
        s = wait_snapshot(client, lambda s: target_dir(s, move) is not None and target_dir(s, move).moving_in)
        [(topic, partition, copied)] = target_dir(s, move).moving_in
        assert (topic, partition) == (move.topic, 0) and copied < 36_000_000
        [row] = [r for r in brokers_table(s).rows if r[0] == move.broker]
        assert f"moving in: {move.topic}-0" in row[7]
        move.throttle(None)
        move.wait_done()
        after = client.snapshot()
        assert not target_dir(after, move).moving_in
        assert target_dir(after, move).size_bytes >= 36_000_000  # the replica itself now
    finally:
        move.throttle(None)
        move.close()
        client.close()

