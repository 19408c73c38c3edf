"""Request and response headers, by hand: they are on every request, so they stay cheap.

Request header v1 (non-flexible): api_key int16, api_version int16, correlation_id int32,
client_id nullable int16-prefixed string. v2 (flexible requests) adds tagged fields.
Response header v0: correlation_id int32; v1 (flexible responses) adds tagged fields —
except ApiVersions, whose response always uses header v0 so that a client that does not
yet know the broker's versions can parse it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_HEADER = struct.Struct(">hhih")
_SIZE_CORRELATION = struct.Struct(">ii")
API_VERSIONS_KEY = 18


class MalformedRequest(ValueError):
    """The bytes are not a Kafka request; the connection that sent them is closed."""


@dataclass(frozen=True, slots=True)
class RequestHeader:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    body_offset: int


def peek_key_version(frame: bytes | memoryview) -> tuple[int, int, int]:
    """api_key, api_version and correlation_id, without touching the rest."""
    if len(frame) < 8:
        raise MalformedRequest(f"request of {len(frame)} bytes is shorter than a request header")
    return struct.unpack_from(">hhi", frame, 0)


def read_uvarint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(buf):
            raise MalformedRequest("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 35:
            raise MalformedRequest("varint too long")


def parse_request_header(frame: bytes | memoryview, flexible: bool) -> RequestHeader:
    if len(frame) < _HEADER.size:
        raise MalformedRequest(f"request of {len(frame)} bytes is shorter than a request header")
    api_key, api_version, correlation_id, client_len = _HEADER.unpack_from(frame, 0)
    pos = _HEADER.size
    client_id = None
    if client_len >= 0:
        end = pos + client_len
        if end > len(frame):
            raise MalformedRequest("client_id runs past the end of the request")
        client_id = bytes(frame[pos:end]).decode("utf-8", "replace")
        pos = end
    elif client_len != -1:
        raise MalformedRequest(f"invalid client_id length {client_len}")
    if flexible:
        count, pos = read_uvarint(frame, pos)
        for _ in range(count):
            _tag, pos = read_uvarint(frame, pos)
            size, pos = read_uvarint(frame, pos)
            pos += size
        if pos > len(frame):
            raise MalformedRequest("tagged fields run past the end of the request")
    return RequestHeader(api_key, api_version, correlation_id, client_id, pos)


def frame_response(correlation_id: int, body, flexible_header: bool) -> bytes:
    """Size prefix, response header and body (bytes, or a list of chunks), ready for the socket."""
    chunks = body if isinstance(body, list) else [body]
    size = sum(len(c) for c in chunks) + (5 if flexible_header else 4)
    head = _SIZE_CORRELATION.pack(size, correlation_id)
    return b"".join([head, b"\x00", *chunks] if flexible_header else [head, *chunks])
