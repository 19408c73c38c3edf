"""Connections from this broker to the others' Kafka listeners, one per broker, kept open.

One request at a time on each (KafkaConnection has no pipelining): a caller waits for the
one before it. A connection that fails, times out or is abandoned mid-request is closed and
the next request opens a new one; the error goes to the caller, who decides what it means.
"""

from __future__ import annotations

import asyncio

from partita.engine.broker.kafka_client import KafkaConnection


class BrokerConnections:
    def __init__(self, broker, client_id: str):
        self.broker = broker
        self.client_id = client_id
        self._connections: dict[int, tuple[KafkaConnection, asyncio.Lock]] = {}

    async def request(self, node: int, api_key: int, version: int, entity, timeout: float = 30.0):
        """Send `entity` to broker `node` and return its decoded answer; raises what the exchange raised
        (KeyError when the metadata no longer knows the broker)."""
        conn, lock = await self._connection(node)
        async with lock:
            try:
                return await conn.request(api_key, version, entity, timeout)
            except BaseException:
                self._drop(node, conn)  # half sent or half read: the connection cannot be reused
                raise

    async def _connection(self, node: int) -> tuple[KafkaConnection, asyncio.Lock]:
        found = self._connections.get(node)
        if found is not None and found[0].writer.is_closing() and not found[1].locked():
            self._drop(node, found[0])  # the peer closed it while idle (a restart): open another
            found = None
        if found is None:
            broker = self.broker.metadata.brokers[node]
            conn = await KafkaConnection.open(broker.host, broker.port, self.client_id)
            found = self._connections.setdefault(node, (conn, asyncio.Lock()))
            if found[0] is not conn:
                conn.close()
        return found

    def _drop(self, node: int, conn: KafkaConnection | None = None) -> None:
        """Close the connection to `node` (only if it is still `conn`, when given)."""
        found = self._connections.get(node)
        if found is not None and (conn is None or found[0] is conn):
            del self._connections[node]
            found[0].close()

    def close(self) -> None:
        for node in list(self._connections):
            self._drop(node)
