"""The log cleaner's key → last offset map over the dirty part of a log (Kafka's OffsetMap).

Kafka's SkimpyOffsetMap stores a 16-byte MD5 of each key and an 8-byte offset in a fixed
buffer (log.cleaner.dedupe.buffer.size, filled to a 0.9 load factor). Here the map is a
dict: keys of up to 16 bytes are stored as they are, longer ones as a 16-byte BLAKE2b
digest (a collision is as unlikely as with Kafka's MD5). A Python entry costs far more
than 24 bytes, so the capacity is the buffer size divided by an estimated 100 bytes per
entry: a log whose dirty part holds more distinct keys is cleaned in several passes, as
in Kafka when its buffer fills.
"""

from __future__ import annotations

from hashlib import blake2b

__all__ = ["OffsetMap", "BYTES_PER_ENTRY"]

BYTES_PER_ENTRY = 100  # dict slot + bytes object + int, measured roughly on CPython 3.11+
_INLINE_KEY = 16


def _slot(key: bytes) -> bytes:
    return key if len(key) <= _INLINE_KEY else blake2b(key, digest_size=16).digest()


class OffsetMap:
    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"an offset map needs room for at least one key, got {capacity}")
        self.capacity = capacity
        self._offsets: dict[bytes, int] = {}
        self.latest_offset = -1  # the last offset the map has seen (Kafka's latestOffset)

    @classmethod
    def for_buffer_size(cls, buffer_bytes: int) -> OffsetMap:
        return cls(max(1, buffer_bytes // BYTES_PER_ENTRY))

    def __len__(self) -> int:
        return len(self._offsets)

    @property
    def full(self) -> bool:
        return len(self._offsets) >= self.capacity

    def put(self, key: bytes, offset: int) -> None:
        self._offsets[_slot(key)] = offset
        if offset > self.latest_offset:
            self.latest_offset = offset

    def get(self, key: bytes) -> int:
        """The last offset seen for `key`, -1 if none."""
        return self._offsets.get(_slot(key), -1)

    def update_latest_offset(self, offset: int) -> None:
        if offset > self.latest_offset:
            self.latest_offset = offset
