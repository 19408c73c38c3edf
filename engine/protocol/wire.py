"""Primitive encoders for the responses written by hand (Produce, Fetch).

Non-flexible versions use int16-prefixed strings and int32-prefixed arrays and bytes;
flexible versions use unsigned-varint lengths plus one (zero meaning null).
"""

from __future__ import annotations

import struct

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")


def uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def length(n: int, flexible: bool) -> bytes:
    """The length prefix of an array or bytes field of n items."""
    return uvarint(n + 1) if flexible else _I32.pack(n)


def string(s: str, flexible: bool) -> bytes:
    b = s.encode()
    return (uvarint(len(b) + 1) if flexible else _I16.pack(len(b))) + b


def nullable_string(s: str | None, flexible: bool) -> bytes:
    if s is None:
        return b"\x00" if flexible else b"\xff\xff"
    return string(s, flexible)
