"""A minimal Kafka client connection for broker-to-broker requests (replica fetching).

Requests are encoded with kio; one request in flight at a time, as a follower needs.
"""

from __future__ import annotations

import asyncio
import struct

from partita.engine.protocol import codec

_SIZE = struct.Struct(">i")


class KafkaConnection:
    def __init__(self, reader, writer, client_id: str):
        self.reader = reader
        self.writer = writer
        self.client_id = client_id.encode()
        self.correlation_id = 0

    @classmethod
    async def open(cls, host: str, port: int, client_id: str, timeout: float = 3.0) -> KafkaConnection:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        return cls(reader, writer, client_id)

    async def request(self, api_key: int, version: int, entity, timeout: float = 30.0):
        self.correlation_id += 1
        header = struct.pack(">hhih", api_key, version, self.correlation_id, len(self.client_id)) + self.client_id
        if codec.request_is_flexible(api_key, version):
            header += b"\x00"
        body = codec.encode(entity)
        if self.writer.is_closing():
            raise ConnectionError("the connection is closed")
        try:
            self.writer.write(_SIZE.pack(len(header) + len(body)) + header + body)
        except RuntimeError as exc:  # uvloop: the peer reset the transport since the check
            raise ConnectionError(str(exc)) from exc
        size_bytes = await asyncio.wait_for(self.reader.readexactly(4), timeout)
        (size,) = _SIZE.unpack(size_bytes)
        frame = await asyncio.wait_for(self.reader.readexactly(size), timeout)
        offset = 4 + (1 if (api_key != 18 and codec.response_is_flexible(api_key, version)) else 0)
        reader = codec.response_reader(api_key, version)
        entity, _ = reader(frame, offset)
        return entity

    def close(self) -> None:
        self.writer.close()
