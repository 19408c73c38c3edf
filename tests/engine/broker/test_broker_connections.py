"""BrokerConnections against a real engine broker: one kept connection per broker, closed only
by a failure of the request that was using it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from kio.schema.api_versions.v3.request import ApiVersionsRequest

from partita.engine.broker.broker_connections import BrokerConnections
from partita.engine.cluster import launcher

REQUEST = ApiVersionsRequest(client_software_name="partita-tests", client_software_version="1")


def _pool(engine) -> BrokerConnections:
    node = engine.broker_ids[0]
    host, port = engine.address(node).split(":")
    info = SimpleNamespace(host=host, port=int(port))
    return BrokerConnections(SimpleNamespace(metadata=SimpleNamespace(brokers={node: info})), "partita-tests")


def test_requests_share_one_connection_and_a_cancelled_waiter_leaves_it_open(engine):
    node = engine.broker_ids[0]

    async def scenario():
        pool = _pool(engine)
        try:
            assert (await pool.request(node, 18, 3, REQUEST)).error_code == 0
            conn, lock = pool._connections[node]
            async with lock:  # an exchange in progress: the next request waits for it
                waiter = asyncio.ensure_future(pool.request(node, 18, 3, REQUEST))
                await asyncio.sleep(0.05)
                waiter.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiter
            assert pool._connections[node][0] is conn  # not the waiter's to close
            assert (await pool.request(node, 18, 3, REQUEST)).error_code == 0
            assert pool._connections[node][0] is conn
        finally:
            pool.close()

    asyncio.run(scenario())


def test_an_unknown_broker_is_a_key_error_and_a_failed_exchange_drops_its_connection(engine):
    node = engine.broker_ids[0]

    async def scenario():
        pool = _pool(engine)
        try:
            with pytest.raises(KeyError):
                await pool.request(node + 100, 18, 3, REQUEST)
            await pool.request(node, 18, 3, REQUEST)
            conn, _ = pool._connections[node]
            await asyncio.to_thread(launcher.inject_fault, engine.dir, node, 18, delay_ms=2000)  # it answers late
            with pytest.raises(TimeoutError):  # given up mid-exchange: the answer may still come
                await pool.request(node, 18, 3, REQUEST, timeout=0.5)
            assert node not in pool._connections
            assert (await pool.request(node, 18, 3, REQUEST)).error_code == 0  # a new one
            assert pool._connections[node][0] is not conn
        finally:
            pool.close()

    asyncio.run(scenario())


def test_a_connection_closed_while_idle_is_replaced_not_written_to(engine):
    """A kept connection the peer reset while nobody used it (the other broker restarted): the next
    request opens another instead of failing on the dead one (uvloop raises RuntimeError writing
    to a closed transport, which used to escape to the client's Produce)."""
    node = engine.broker_ids[0]

    async def scenario():
        pool = _pool(engine)
        try:
            await pool.request(node, 18, 3, REQUEST)
            conn, _ = pool._connections[node]
            conn.writer.close()  # as the transport is once the peer's reset arrived
            await asyncio.sleep(0)
            assert (await pool.request(node, 18, 3, REQUEST)).error_code == 0
            assert pool._connections[node][0] is not conn
            with pytest.raises(ConnectionError):  # and a closed connection is never written to
                await conn.request(18, 3, REQUEST)
        finally:
            pool.close()

    asyncio.run(scenario())
