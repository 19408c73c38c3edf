"""A starting broker answers no request before it has registered and installed the metadata: a
client that connects early waits, instead of being told of an empty cluster (a rolling restart's
clients saw brokers=0, topics=0 for a moment). The broker runs in-process against a stand-in
controller that holds its registration."""

from __future__ import annotations

import asyncio
import os
from types import MappingProxyType

from kio.schema.metadata.v12.request import MetadataRequest

from partita.engine.broker.broker import Broker
from partita.engine.broker.config import BrokerConfig
from partita.engine.broker.kafka_client import KafkaConnection
from partita.engine.cluster import layout
from partita.engine.cluster.metadata import BrokerInfo, MetadataImage
from partita.engine.cluster.rpc import serve_session


def test_requests_wait_until_the_broker_has_registered(tmp_path):
    async def scenario():
        release = asyncio.Event()
        port = layout.free_port()
        image = MetadataImage(1, "cid", 1, MappingProxyType(
            {1: BrokerInfo(1, "127.0.0.1", port, None, (str(tmp_path),), alive=True, pid=os.getpid())}),
            MappingProxyType({}))

        async def controller(op, args, session):
            if op == "BrokerRegistration":
                await release.wait()
                return {"image": image.to_json()}
            return {}

        server = await asyncio.start_server(lambda r, w: serve_session(r, w, controller, lambda s: None),
                                            "127.0.0.1", 0)
        config = BrokerConfig(node_id=1, host="127.0.0.1", port=port, rack=None, log_dirs=(str(tmp_path),),
                              controller_host="127.0.0.1", controller_port=server.sockets[0].getsockname()[1],
                              cluster_id="cid")
        broker = Broker(config)
        starting = asyncio.ensure_future(broker.start())
        conn = None
        try:
            for _ in range(100):  # the port listens before registration
                try:
                    conn = await KafkaConnection.open("127.0.0.1", port, "partita-tests")
                    break
                except OSError:
                    await asyncio.sleep(0.02)
            asked = asyncio.ensure_future(conn.request(3, 12, MetadataRequest(
                topics=None, allow_auto_topic_creation=False, include_topic_authorized_operations=False)))
            await asyncio.sleep(0.5)
            assert not asked.done()  # held, not answered from the empty image
            release.set()
            await starting
            answer = await asyncio.wait_for(asked, 10)
            assert [b.node_id for b in answer.brokers] == [1]
        finally:
            release.set()
            if conn is not None:
                conn.close()
            await broker.stop()
            server.close()

    asyncio.run(scenario())
