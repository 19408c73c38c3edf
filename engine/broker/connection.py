"""One client connection: frames in, responses out, in request order.

Kafka processes one request per connection at a time (it mutes the channel until the
response is sent), so requests are answered strictly in order by one task per
connection. Responses to requests that were already waiting in the buffer are sent
together in one write, which saves a system call and a wake-up of the client per request
when a producer pipelines. A frame that is malformed or larger than the limit closes this
connection only.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import deque

from partita.engine.broker.connection_limits import ConnectionLimits
from partita.engine.protocol.framing import MalformedRequest

log = logging.getLogger(__name__)
_SIZE = struct.Struct(">i")
_MAX_QUEUED = 64  # frames buffered before reading pauses
_WRITE_HIGH_WATER = 8 * 1024 * 1024
_HOLD_LIMIT_S = 0.002  # a response that took longer than this is sent at once


class KafkaConnection(asyncio.Protocol):
    def __init__(self, dispatcher, max_request_bytes: int, limits: ConnectionLimits | None = None):
        self.dispatcher = dispatcher
        self.max_request_bytes = max_request_bytes
        self.limits = limits
        self._admitted_ip: str | None = None
        self.buffer = bytearray()
        self.frames: deque[bytes | memoryview] = deque()
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self._frames_ready = asyncio.Event()
        self._can_write = asyncio.Event()
        self._can_write.set()
        self._reading_paused = False
        self._task: asyncio.Task | None = None

    # -- transport callbacks ----------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        peername = transport.get_extra_info("peername")
        self.peer = f"{peername[0]}:{peername[1]}" if peername else "?"
        if self.limits is not None:
            ip = peername[0] if peername else "?"
            refused = self.limits.admit(ip)
            if refused:
                log.warning("closing connection from %s: %s", self.peer, refused)
                transport.close()
                return
            self._admitted_ip = ip
        self._task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        if buf:
            buf += data
            self._take_frames(buf)
        else:
            # Nothing pending: whole frames are zero-copy views of `data` (immutable bytes);
            # only an incomplete tail is kept in the buffer.
            self._take_frames(data)
        if self.frames:
            self._frames_ready.set()
            if len(self.frames) >= _MAX_QUEUED and not self._reading_paused:
                self._reading_paused = True
                self.transport.pause_reading()

    def _take_frames(self, data) -> None:
        """Queue every complete frame in `data` (the buffer itself, or fresh bytes when the buffer
        is empty) and keep the remainder in the buffer. Frames cut from the reused buffer are
        copied once; frames of immutable bytes are views, not copies."""
        reused = data is self.buffer
        start = 0
        end = len(data)
        with memoryview(data) as view:
            while end - start >= 4:
                (size,) = _SIZE.unpack_from(data, start)
                if size < 8 or size > self.max_request_bytes:
                    log.warning("closing connection from %s: request size %d outside 8..%d "
                                "(socket.request.max.bytes)", self.peer, size, self.max_request_bytes)
                    self._close()
                    return
                if end - start - 4 < size:
                    break
                if reused:
                    self.frames.append(bytes(view[start + 4 : start + 4 + size]))
                else:
                    self.frames.append(view[start + 4 : start + 4 + size])
                start += 4 + size
        if reused:
            if start:
                del data[:start]
        elif start < end:
            self.buffer += data[start:]

    def connection_lost(self, exc) -> None:
        if self._admitted_ip is not None:
            self.limits.release(self._admitted_ip)
            self._admitted_ip = None
        if self._task is not None:
            self._task.cancel()

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # -- the request loop ---------------------------------------------------------------

    async def _serve(self) -> None:
        frames = self.frames
        dispatch = self.dispatcher.dispatch
        loop = asyncio.get_running_loop()
        try:
            while True:
                if not frames:
                    await self._frames_queued()
                # Answer the requests that are queued now, as one write; later arrivals wait for
                # the next round, so a client that keeps sending is never starved of answers.
                out = []
                for _ in range(len(frames)):
                    frame = frames.popleft()
                    started = loop.time()
                    try:
                        response = await dispatch(memoryview(frame), self.peer)
                    except MalformedRequest as exc:
                        log.warning("closing connection from %s: %s", self.peer, exc)
                        if out:
                            self.transport.write(b"".join(out))
                        self._close()
                        return
                    if response is not None:
                        out.append(response)
                    if loop.time() - started > _HOLD_LIMIT_S and out:
                        # This one waited (long poll, acks=all, rebalance): nothing to gain by holding it.
                        await self._write(out)
                        out = []
                if out:
                    await self._write(out)
        except asyncio.CancelledError:
            return  # the connection is gone or the broker is stopping
        except Exception:
            log.exception("connection from %s failed; closing it", self.peer)
            self._close()

    async def _frames_queued(self) -> None:
        """Wait until a frame is queued, reading again first if a full queue had paused it."""
        self._frames_ready.clear()
        if self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()
        await self._frames_ready.wait()

    async def _write(self, out: list) -> None:
        self.transport.write(out[0] if len(out) == 1 else b"".join(out))
        if self.transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
            await self._can_write.wait()

    def _close(self) -> None:
        self.frames.clear()
        if self.transport is not None:
            self.transport.close()
