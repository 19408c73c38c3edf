"""How a client connection cuts the byte stream into request frames, whatever the chunking."""

from __future__ import annotations

import random
import struct

from partita.engine.broker.connection import KafkaConnection


class _Transport:
    """Records what the connection asks of its transport (the socket side is not under test)."""

    def __init__(self) -> None:
        self.closed = False
        self.paused = False

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.paused = True


def _connection(max_request_bytes: int = 1 << 20) -> KafkaConnection:
    conn = KafkaConnection(dispatcher=None, max_request_bytes=max_request_bytes)
    conn.transport = _Transport()
    return conn


def _frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def test_frames_come_out_whole_and_in_order_however_the_stream_is_cut():
    rng = random.Random(7)
    payloads = [bytes(rng.randrange(256) for _ in range(rng.randrange(8, 3000))) for _ in range(40)]
    stream = b"".join(_frame(p) for p in payloads)
    for trial in range(30):
        conn = _connection()
        pos = 0
        while pos < len(stream):
            step = rng.choice([1, 3, 4, 5, 17, 1000, 5000, len(stream)]) if trial else 1
            conn.data_received(stream[pos : pos + step])
            pos += step
        assert [bytes(f) for f in conn.frames] == payloads
        assert not conn.buffer and not conn.transport.closed


def test_frames_are_not_disturbed_by_later_chunks():
    conn = _connection()
    chunk = _frame(b"A" * 16) + _frame(b"B" * 16)[:6]  # a whole frame, then the start of the next
    conn.data_received(chunk)
    first = conn.frames[0]
    conn.data_received(_frame(b"B" * 16)[6:] + _frame(b"C" * 9))
    assert bytes(first) == b"A" * 16
    assert [bytes(f) for f in conn.frames] == [b"A" * 16, b"B" * 16, b"C" * 9]


def test_an_oversized_or_undersized_size_closes_the_connection():
    for size in ((1 << 20) + 1, 7, -1):
        conn = _connection(max_request_bytes=1 << 20)
        conn.data_received(_frame(b"x" * 12) + struct.pack(">i", size) + b"y" * 12)
        assert conn.transport.closed
        assert [bytes(f) for f in conn.frames] == []  # the frame before it is dropped with the connection
