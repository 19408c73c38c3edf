"""The supervisor's internal channel: length-prefixed JSON messages over TCP on 127.0.0.1.

Brokers, the launcher and the CLI talk to the supervisor (which hosts the controller)
through it. Requests carry an id and get one reply; the supervisor may also push
messages (metadata images) that carry no id. Operation names and fields follow Kafka's
broker↔controller APIs (BrokerRegistration, BrokerHeartbeat, AlterPartition) where Kafka
has one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import struct
from collections.abc import Awaitable, Callable

_SIZE = struct.Struct(">I")
MAX_MESSAGE = 256 * 1024 * 1024


class RpcError(Exception):
    def __init__(self, code: int, message: str):
        self.code = code
        self.message = message
        super().__init__(f"error {code}: {message}")


def encode(message: dict) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode()
    return _SIZE.pack(len(body)) + body


async def read_message(reader: asyncio.StreamReader) -> dict:
    (size,) = _SIZE.unpack(await reader.readexactly(4))
    if size > MAX_MESSAGE:
        raise ValueError(f"rpc message of {size} bytes is too large")
    return json.loads(await reader.readexactly(size))


class RpcClient:
    """A connection to the supervisor: `await call(op, **args)`; pushes go to `on_push`."""

    def __init__(self, reader, writer, on_push: Callable[[dict], None] | None = None):
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._on_push = on_push
        self._task = asyncio.get_running_loop().create_task(self._read_loop())
        self.closed = asyncio.get_running_loop().create_future()

    @classmethod
    async def connect(cls, host: str, port: int, on_push=None, timeout: float = 5.0) -> RpcClient:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        return cls(reader, writer, on_push)

    async def call(self, op: str, timeout: float = 30.0, **args):
        if self.closed.done():
            raise ConnectionError("connection to the supervisor is closed")
        request_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._writer.write(encode({"id": request_id, "op": op, "args": args}))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)

    async def _read_loop(self):
        try:
            while True:
                message = await read_message(self._reader)
                request_id = message.get("id")
                if request_id is None:
                    if self._on_push is not None:
                        self._on_push(message)
                    continue
                future = self._pending.get(request_id)
                if future is None or future.done():
                    continue
                if "error" in message:
                    future.set_exception(RpcError(message["error"]["code"], message["error"]["message"]))
                else:
                    future.set_result(message.get("result"))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("connection to the supervisor closed"))
            if not self.closed.done():
                self.closed.set_result(None)

    async def close(self):
        self._writer.close()
        self._task.cancel()


Handler = Callable[[str, dict, "RpcSession"], Awaitable[object]]


class RpcSession:
    """The server's side of one connection; `push` sends an unsolicited message."""

    def __init__(self, writer: asyncio.StreamWriter):
        self.writer = writer
        self.node_id: int | None = None  # set once a broker registers on this session

    def push(self, message: dict) -> None:
        if not self.writer.is_closing():
            self.writer.write(encode(message))


async def serve_session(reader, writer, handler: Handler, on_close: Callable[[RpcSession], None]):
    session = RpcSession(writer)
    try:
        while True:
            message = await read_message(reader)
            request_id, op, args = message.get("id"), message.get("op"), message.get("args", {})
            try:
                result = await handler(op, args, session)
                reply = {"id": request_id, "result": result}
            except RpcError as exc:
                reply = {"id": request_id, "error": {"code": exc.code, "message": exc.message}}
            except Exception as exc:  # a bug in an op must not take the supervisor down
                reply = {"id": request_id, "error": {"code": -1, "message": f"{type(exc).__name__}: {exc}"}}
            writer.write(encode(reply))
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    except asyncio.CancelledError:
        pass  # the supervisor is stopping with an op still running (a stop-broker): nothing to answer
    finally:
        on_close(session)
        writer.close()
