"""A minimal raw Kafka client for exact protocol versions (kio codecs, one socket)."""

from __future__ import annotations

import io
import socket
import struct
import sys

from kio.index import load_request_schema, load_response_schema
from kio.serial import entity_reader, entity_writer


def request_module(key: int, version: int):
    """The kio module with the request classes of (key, version)."""
    return sys.modules[load_request_schema(key, version).__module__]


class RawClient:
    def __init__(self, address: str, client_id: str = "raw-client"):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=20)
        self.client_id = client_id.encode()
        self.correlation = 0

    def call(self, request):
        key, version = request.__api_key__, request.__version__
        flexible = request.__flexible__
        self.correlation += 1
        header = struct.pack(">hhih", key, version, self.correlation, len(self.client_id)) + self.client_id
        if flexible:
            header += b"\x00"  # no tagged fields
        body = io.BytesIO()
        entity_writer(type(request))(body, request)
        frame = header + body.getvalue()
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", self._read(4))[0]
        data = self._read(size)
        (correlation,) = struct.unpack_from(">i", data, 0)
        assert correlation == self.correlation
        pos = 4
        response_cls = load_response_schema(key, version)
        if response_cls.__flexible__ and key != 18:
            assert data[pos] == 0  # no tagged fields in the response header
            pos += 1
        entity, _ = entity_reader(response_cls)(data, pos)
        return entity

    def _read(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("the broker closed the connection")
            out += chunk
        return out

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
