"""The records of `__consumer_offsets`, in Kafka's formats (what Burrow and other tools read).

Key and value each start with an int16 version. Non-flexible strings are int16-length
prefixed (-1 = null), bytes int32-length prefixed, arrays int32-count prefixed.

    OffsetCommitKey    (key version 0 or 1)  group string, topic string, partition int32
    GroupMetadataKey   (key version 2)       group string
    OffsetCommitValue  v3: offset int64, leaderEpoch int32, metadata string, commitTimestamp int64
                       v1: offset int64, metadata string, commitTimestamp int64, expireTimestamp int64
                       (v0: no leader epoch, no expire; v2 = v0; v4 = v3 flexible)
    GroupMetadataValue v3: protocolType string, generation int32, protocol nullable string,
                       leader nullable string, currentStateTimestamp int64 (v2+), members
                       [memberId, groupInstanceId (v3+, nullable), clientId, clientHost,
                        rebalanceTimeout int32 (v1+), sessionTimeout int32, subscription bytes,
                        assignment bytes]   (v4 = v3 flexible)

The engine writes key version 1 with OffsetCommitValue v3 (v1 when the commit carries an
expire timestamp, as Kafka does) and key version 2 with GroupMetadataValue v3. A null
value is a tombstone. Other key versions (KIP-848 and share-group records Kafka may
write) decode to `OtherKey` and are skipped when loading.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = [
    "OffsetCommitKey",
    "GroupMetadataKey",
    "OtherKey",
    "OffsetCommitValue",
    "MemberMetadata",
    "GroupMetadataValue",
    "RecordFormatError",
    "encode_key",
    "decode_key",
    "encode_offset_commit_value",
    "decode_offset_commit_value",
    "encode_group_metadata_value",
    "decode_group_metadata_value",
    "offset_commit_record",
    "group_metadata_record",
]

OFFSET_COMMIT_KEY_VERSION = 1
GROUP_METADATA_KEY_VERSION = 2
OFFSET_COMMIT_VALUE_VERSION = 3
OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRE = 1
GROUP_METADATA_VALUE_VERSION = 3


class RecordFormatError(ValueError):
    """Bytes that are not a record of the expected format."""


@dataclass(frozen=True, slots=True)
class OffsetCommitKey:
    group: str
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class GroupMetadataKey:
    group: str


@dataclass(frozen=True, slots=True)
class OtherKey:
    """A key this engine does not use (KIP-848 consumer groups, share groups, ...)."""

    version: int


@dataclass(frozen=True, slots=True)
class OffsetCommitValue:
    offset: int
    leader_epoch: int = -1
    metadata: str = ""
    commit_timestamp: int = -1
    expire_timestamp: int = -1


@dataclass(frozen=True, slots=True)
class MemberMetadata:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout: int
    session_timeout: int
    subscription: bytes
    assignment: bytes


@dataclass(frozen=True, slots=True)
class GroupMetadataValue:
    protocol_type: str
    generation: int
    protocol: str | None
    leader: str | None
    current_state_timestamp: int = -1
    members: tuple[MemberMetadata, ...] = field(default_factory=tuple)


# -- writing ---------------------------------------------------------------------------

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


class _Writer:
    __slots__ = ("out",)

    def __init__(self) -> None:
        self.out = bytearray()

    def i16(self, v: int) -> None:
        self.out += _I16.pack(v)

    def i32(self, v: int) -> None:
        self.out += _I32.pack(v)

    def i64(self, v: int) -> None:
        self.out += _I64.pack(v)

    def string(self, s: str | None) -> None:
        if s is None:
            self.out += _I16.pack(-1)
            return
        data = s.encode()
        if len(data) > 0x7FFF:
            raise RecordFormatError(f"string of {len(data)} bytes is too long")
        self.out += _I16.pack(len(data))
        self.out += data

    def bytes_(self, b: bytes | None) -> None:
        if b is None:
            self.out += _I32.pack(-1)
            return
        self.out += _I32.pack(len(b))
        self.out += b


def encode_key(key: OffsetCommitKey | GroupMetadataKey) -> bytes:
    w = _Writer()
    if isinstance(key, OffsetCommitKey):
        w.i16(OFFSET_COMMIT_KEY_VERSION)
        w.string(key.group)
        w.string(key.topic)
        w.i32(key.partition)
    elif isinstance(key, GroupMetadataKey):
        w.i16(GROUP_METADATA_KEY_VERSION)
        w.string(key.group)
    else:
        raise TypeError(f"cannot encode {key!r}")
    return bytes(w.out)


def encode_offset_commit_value(value: OffsetCommitValue, version: int | None = None) -> bytes:
    """v3, or v1 when the value carries an expire timestamp (Kafka's choice); 0–3 on request."""
    if version is None:
        version = OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRE if value.expire_timestamp >= 0 else OFFSET_COMMIT_VALUE_VERSION
    if version not in (0, 1, 2, 3):
        raise RecordFormatError(f"OffsetCommitValue v{version} is not written")
    w = _Writer()
    w.i16(version)
    w.i64(value.offset)
    if version >= 3:
        w.i32(value.leader_epoch)
    w.string(value.metadata if value.metadata is not None else "")
    w.i64(value.commit_timestamp)
    if version == 1:
        w.i64(value.expire_timestamp)
    return bytes(w.out)


def encode_group_metadata_value(value: GroupMetadataValue, version: int = GROUP_METADATA_VALUE_VERSION) -> bytes:
    if version not in (0, 1, 2, 3):
        raise RecordFormatError(f"GroupMetadataValue v{version} is not written")
    w = _Writer()
    w.i16(version)
    w.string(value.protocol_type)
    w.i32(value.generation)
    w.string(value.protocol)
    w.string(value.leader)
    if version >= 2:
        w.i64(value.current_state_timestamp)
    w.i32(len(value.members))
    for m in value.members:
        w.string(m.member_id)
        if version >= 3:
            w.string(m.group_instance_id)
        w.string(m.client_id)
        w.string(m.client_host)
        if version >= 1:
            w.i32(m.rebalance_timeout)
        w.i32(m.session_timeout)
        w.bytes_(m.subscription)
        w.bytes_(m.assignment)
    return bytes(w.out)


def offset_commit_record(group: str, topic: str, partition: int,
                         value: OffsetCommitValue | None) -> tuple[bytes, bytes | None]:
    """(key, value) bytes of an offset commit, or of its tombstone when `value` is None."""
    key = encode_key(OffsetCommitKey(group, topic, partition))
    return key, None if value is None else encode_offset_commit_value(value)


def group_metadata_record(group: str, value: GroupMetadataValue | None) -> tuple[bytes, bytes | None]:
    key = encode_key(GroupMetadataKey(group))
    return key, None if value is None else encode_group_metadata_value(value)


# -- reading ---------------------------------------------------------------------------


class _Reader:
    __slots__ = ("buf", "pos", "flexible")

    def __init__(self, buf: bytes | memoryview, pos: int = 0) -> None:
        self.buf = bytes(buf)
        self.pos = pos
        self.flexible = False

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise RecordFormatError(f"record truncated: need {n} bytes at {self.pos} of {len(self.buf)}")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def i16(self) -> int:
        return _I16.unpack(self._take(2))[0]

    def i32(self) -> int:
        return _I32.unpack(self._take(4))[0]

    def i64(self) -> int:
        return _I64.unpack(self._take(8))[0]

    def uvarint(self) -> int:
        result = shift = 0
        while True:
            b = self._take(1)[0]
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 35:
                raise RecordFormatError("unsigned varint too long")

    def string(self, nullable: bool = False) -> str | None:
        n = self.uvarint() - 1 if self.flexible else self.i16()
        if n < 0:
            if not nullable:
                raise RecordFormatError("null where a string is required")
            return None
        try:
            return self._take(n).decode()
        except UnicodeDecodeError as exc:
            raise RecordFormatError(f"string is not UTF-8: {exc}") from exc

    def bytes_(self) -> bytes | None:
        n = self.uvarint() - 1 if self.flexible else self.i32()
        if n < 0:
            return None
        return self._take(n)

    def array_len(self) -> int:
        n = self.uvarint() - 1 if self.flexible else self.i32()
        return max(n, 0)

    def tagged_fields(self) -> None:
        if not self.flexible:
            return
        for _ in range(self.uvarint()):
            self.uvarint()  # tag
            self._take(self.uvarint())


def decode_key(data: bytes | memoryview) -> OffsetCommitKey | GroupMetadataKey | OtherKey:
    r = _Reader(data)
    version = r.i16()
    if version in (0, 1):
        return OffsetCommitKey(r.string(), r.string(), r.i32())
    if version == 2:
        return GroupMetadataKey(r.string())
    return OtherKey(version)


def decode_offset_commit_value(data: bytes | memoryview) -> OffsetCommitValue:
    r = _Reader(data)
    version = r.i16()
    if not 0 <= version <= 4:
        raise RecordFormatError(f"unknown OffsetCommitValue version {version}")
    r.flexible = version >= 4
    offset = r.i64()
    leader_epoch = r.i32() if version >= 3 else -1
    metadata = r.string()
    commit_ts = r.i64()
    expire_ts = r.i64() if version == 1 else -1
    r.tagged_fields()
    return OffsetCommitValue(offset, leader_epoch, metadata, commit_ts, expire_ts)


def decode_group_metadata_value(data: bytes | memoryview) -> GroupMetadataValue:
    r = _Reader(data)
    version = r.i16()
    if not 0 <= version <= 4:
        raise RecordFormatError(f"unknown GroupMetadataValue version {version}")
    r.flexible = version >= 4
    protocol_type = r.string()
    generation = r.i32()
    protocol = r.string(nullable=True)
    leader = r.string(nullable=True)
    current_state_ts = r.i64() if version >= 2 else -1
    members = []
    for _ in range(r.array_len()):
        member_id = r.string()
        instance_id = r.string(nullable=True) if version >= 3 else None
        client_id = r.string()
        client_host = r.string()
        session_timeout_or_rebalance = r.i32()
        if version >= 1:
            rebalance_timeout, session_timeout = session_timeout_or_rebalance, r.i32()
        else:
            rebalance_timeout = session_timeout = session_timeout_or_rebalance
        subscription = r.bytes_() or b""
        assignment = r.bytes_() or b""
        r.tagged_fields()
        members.append(MemberMetadata(member_id, instance_id, client_id, client_host,
                                      rebalance_timeout, session_timeout, subscription, assignment))
    r.tagged_fields()
    return GroupMetadataValue(protocol_type, generation, protocol, leader, current_state_ts, tuple(members))
