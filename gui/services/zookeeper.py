"""What an older Kafka cluster keeps in ZooKeeper, read with kazoo beside what the Kafka protocol
says: the controller (/controller), the brokers registered (/brokers/ids, with their racks),
the reassignments written to /admin/reassign_partitions (how Kafka before 2.4 reassigns) and
the cluster id (/cluster/id). Read-only, and only when a connection names its ZooKeeper.
"""

from __future__ import annotations

import json
import logging
import time

from partita.gui.domain.snapshot import ZooKeeperState

log = logging.getLogger(__name__)
RETRY_AFTER_S = 10.0


class ZooKeeperReader:
    def __init__(self, address: str, timeout: float = 5.0) -> None:
        self.address = address
        self.timeout = timeout
        self._zk = None
        self._failed_at = float("-inf")
        self._last_error = ""

    def read(self) -> ZooKeeperState:
        """This refresh's state; a failure is said in it, never raised (Kafka may answer while its
        ZooKeeper does not, and the other way round)."""
        zk = self._client()
        if zk is None:
            return ZooKeeperState(self.address, error=self._last_error)
        try:
            return self._read(zk)
        except Exception as e:  # a lost session, a node gone between listing and reading it
            self._drop(e)
            return ZooKeeperState(self.address, error=self._last_error)

    def close(self) -> None:
        zk, self._zk = self._zk, None
        if zk is not None:
            try:
                zk.stop()
                zk.close()
            except Exception:
                pass

    def _client(self):
        if self._zk is not None:
            return self._zk
        if time.monotonic() - self._failed_at < RETRY_AFTER_S:
            return None
        from kazoo.client import KazooClient

        zk = KazooClient(hosts=self.address, timeout=self.timeout, read_only=True,
                         logger=logging.getLogger("kazoo.partita"))
        try:
            zk.start(timeout=self.timeout)
        except Exception as e:
            try:
                zk.stop()
                zk.close()
            except Exception:
                pass
            self._failed_at = time.monotonic()
            self._last_error = f"cannot connect: {type(e).__name__} {e}".strip()
            log.info("ZooKeeper %s: %s", self.address, self._last_error)
            return None
        self._zk = zk
        return zk

    def _drop(self, e: Exception) -> None:
        self._last_error = f"{type(e).__name__} {e}".strip()
        self._failed_at = time.monotonic()
        self.close()

    def _read(self, zk) -> ZooKeeperState:
        controller = None
        if zk.exists("/controller"):
            controller = json.loads(zk.get("/controller")[0] or b"{}").get("brokerid")
        registered = []
        if zk.exists("/brokers/ids"):
            for child in sorted(zk.get_children("/brokers/ids"), key=int):
                data, _ = zk.get(f"/brokers/ids/{child}")
                registered.append((int(child), json.loads(data or b"{}").get("rack")))
        reassigning = 0
        if zk.exists("/admin/reassign_partitions"):
            data, _ = zk.get("/admin/reassign_partitions")
            reassigning = len(json.loads(data or b"{}").get("partitions", ()))
        cluster_id = None
        if zk.exists("/cluster/id"):
            cluster_id = json.loads(zk.get("/cluster/id")[0] or b"{}").get("id")
        return ZooKeeperState(self.address, None, controller, tuple(registered), reassigning, cluster_id)
