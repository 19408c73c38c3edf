"""One task per client connection: read a frame, answer it, in request order.

Kafka processes one request per connection at a time (it mutes the channel until the
response is sent), so a plain sequential loop keeps Kafka's ordering guarantees. A frame
that is malformed or larger than the limit closes this connection only.
"""

from __future__ import annotations

import asyncio
import logging
import struct

from partita.engine.protocol.framing import MalformedRequest

log = logging.getLogger(__name__)
_SIZE = struct.Struct(">i")
_HIGH_WATER = 4 * 1024 * 1024


async def serve_connection(dispatcher, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_request_bytes: int):
    peername = writer.get_extra_info("peername")
    peer = f"{peername[0]}:{peername[1]}" if peername else "?"
    transport = writer.transport
    try:
        while True:
            try:
                size_bytes = await reader.readexactly(4)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            (size,) = _SIZE.unpack(size_bytes)
            if size < 8 or size > max_request_bytes:
                log.warning(
                    "closing connection from %s: request size %d outside 8..%d (socket.request.max.bytes)",
                    peer, size, max_request_bytes,
                )
                return
            try:
                frame = await reader.readexactly(size)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            try:
                response = await dispatcher.dispatch(memoryview(frame), peer)
            except MalformedRequest as exc:
                log.warning("closing connection from %s: %s", peer, exc)
                return
            if response is not None:
                writer.write(response)
                if transport.get_write_buffer_size() > _HIGH_WATER:
                    await writer.drain()
    except asyncio.CancelledError:
        return  # shutdown; returning (not re-raising) keeps 3.11's stream callback quiet
    except Exception:
        log.exception("connection from %s failed; closing it", peer)
    finally:
        writer.close()
