"""The `__consumer_offsets` codecs and the coordinator hash, against hand-built bytes."""

from __future__ import annotations

import struct

import pytest

from partita.engine.groups import records as rec
from partita.engine.groups.hashing import java_string_hashcode, kafka_abs, partition_for


def s16(text: str | None) -> bytes:
    if text is None:
        return struct.pack(">h", -1)
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def b32(data: bytes) -> bytes:
    return struct.pack(">i", len(data)) + data


# -- hash ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a", 97),
        ("hello", 99162322),
        ("Aa", 2112),
        ("BB", 2112),
        ("consumer-group-1", None),
        ("polygenelubricants", -(2**31)),  # the classic Integer.MIN_VALUE string
        ("\U0001F600", 0xD83D * 31 + 0xDE00),  # a surrogate pair counts as two chars
        ("é", 0xE9),
    ],
)
def test_java_string_hashcode(text, expected):
    h = java_string_hashcode(text)
    assert -(2**31) <= h < 2**31
    if expected is not None:
        assert h == expected
    else:  # reference computed the Java way with explicit 32-bit wrapping
        ref = 0
        for ch in text:
            ref = (ref * 31 + ord(ch)) % 2**32
        assert h == (ref - 2**32 if ref >= 2**31 else ref)


def test_abs_is_kafka_utils_abs():
    assert kafka_abs(-(2**31)) == 0  # Math.abs would stay negative; Kafka maps it to 0
    assert partition_for("polygenelubricants", 50) == 0
    assert kafka_abs(-1) == 1
    assert partition_for("hello", 50) == 99162322 % 50
    # A negative hash takes its absolute value, not its low 31 bits (Utils.toPositive):
    # Kafka 4.1 keeps "fmt-group" (hash -1725810369) in partition 19 of 50, not 29.
    assert java_string_hashcode("fmt-group") == -1725810369
    assert partition_for("fmt-group", 50) == 19


# -- keys ------------------------------------------------------------------------------


def test_offset_commit_key_bytes():
    key = rec.encode_key(rec.OffsetCommitKey("g1", "orders", 3))
    assert key == struct.pack(">h", 1) + s16("g1") + s16("orders") + struct.pack(">i", 3)
    assert rec.decode_key(key) == rec.OffsetCommitKey("g1", "orders", 3)
    # key version 0 has the same layout
    assert rec.decode_key(struct.pack(">h", 0) + key[2:]) == rec.OffsetCommitKey("g1", "orders", 3)


def test_group_metadata_key_bytes():
    key = rec.encode_key(rec.GroupMetadataKey("g1"))
    assert key == struct.pack(">h", 2) + s16("g1")
    assert rec.decode_key(key) == rec.GroupMetadataKey("g1")


def test_other_key_versions_are_recognised_and_skipped():
    assert rec.decode_key(struct.pack(">h", 3) + s16("g1")) == rec.OtherKey(3)


# -- offset commit values ---------------------------------------------------------------


def test_offset_commit_value_v3_bytes():
    value = rec.OffsetCommitValue(offset=42, leader_epoch=7, metadata="meta", commit_timestamp=1700000000123)
    data = rec.encode_offset_commit_value(value)
    assert data == struct.pack(">hqi", 3, 42, 7) + s16("meta") + struct.pack(">q", 1700000000123)
    assert rec.decode_offset_commit_value(data) == value


def test_offset_commit_value_with_expire_timestamp_is_v1():
    value = rec.OffsetCommitValue(offset=5, metadata="", commit_timestamp=1000, expire_timestamp=61000)
    data = rec.encode_offset_commit_value(value)
    assert data == struct.pack(">hq", 1, 5) + s16("") + struct.pack(">qq", 1000, 61000)
    decoded = rec.decode_offset_commit_value(data)
    assert decoded == rec.OffsetCommitValue(5, -1, "", 1000, 61000)


def test_offset_commit_value_v0_and_flexible_v4_decode():
    v0 = struct.pack(">hq", 0, 9) + s16("m") + struct.pack(">q", 77)
    assert rec.decode_offset_commit_value(v0) == rec.OffsetCommitValue(9, -1, "m", 77, -1)
    # v4: compact string (length + 1 as unsigned varint) and an empty tagged-field section
    v4 = struct.pack(">hqi", 4, 9, 2) + bytes([2]) + b"m" + struct.pack(">q", 77) + bytes([0])
    assert rec.decode_offset_commit_value(v4) == rec.OffsetCommitValue(9, 2, "m", 77, -1)


def test_truncated_value_raises():
    with pytest.raises(rec.RecordFormatError):
        rec.decode_offset_commit_value(struct.pack(">hq", 3, 1))
    with pytest.raises(rec.RecordFormatError):
        rec.decode_offset_commit_value(struct.pack(">h", 9) + bytes(20))


# -- group metadata values ----------------------------------------------------------------


def member_bytes_v3(mid, iid, cid, host, rebalance, session, sub, assignment) -> bytes:
    return (s16(mid) + s16(iid) + s16(cid) + s16(host) + struct.pack(">ii", rebalance, session)
            + b32(sub) + b32(assignment))


def test_group_metadata_value_v3_bytes():
    members = (
        rec.MemberMetadata("m-1", None, "client-a", "/127.0.0.1", 300000, 45000, b"\x00\x01sub", b"\x00\x02asg"),
        rec.MemberMetadata("m-2", "instance-2", "client-b", "/10.0.0.2", 60000, 10000, b"", b""),
    )
    value = rec.GroupMetadataValue("consumer", 5, "range", "m-1", 1700000000000, members)
    data = rec.encode_group_metadata_value(value)
    expected = (
        struct.pack(">h", 3) + s16("consumer") + struct.pack(">i", 5) + s16("range") + s16("m-1")
        + struct.pack(">q", 1700000000000) + struct.pack(">i", 2)
        + member_bytes_v3("m-1", None, "client-a", "/127.0.0.1", 300000, 45000, b"\x00\x01sub", b"\x00\x02asg")
        + member_bytes_v3("m-2", "instance-2", "client-b", "/10.0.0.2", 60000, 10000, b"", b"")
    )
    assert data == expected
    assert rec.decode_group_metadata_value(data) == value


def test_empty_group_metadata_value_has_null_protocol_and_leader():
    value = rec.GroupMetadataValue("consumer", 3, None, None, 123, ())
    data = rec.encode_group_metadata_value(value)
    assert data == struct.pack(">h", 3) + s16("consumer") + struct.pack(">i", 3) + s16(None) + s16(None) + \
        struct.pack(">qi", 123, 0)
    assert rec.decode_group_metadata_value(data) == value


def test_group_metadata_value_v0_decodes_with_session_as_rebalance_timeout():
    data = (struct.pack(">h", 0) + s16("consumer") + struct.pack(">i", 1) + s16("range") + s16("m")
            + struct.pack(">i", 1) + s16("m") + s16("c") + s16("/h") + struct.pack(">i", 30000) + b32(b"s") + b32(b"a"))
    value = rec.decode_group_metadata_value(data)
    assert value.current_state_timestamp == -1
    assert value.members == (rec.MemberMetadata("m", None, "c", "/h", 30000, 30000, b"s", b"a"),)


def test_record_helpers_and_tombstones():
    key, value = rec.offset_commit_record("g", "t", 0, None)
    assert value is None and rec.decode_key(key) == rec.OffsetCommitKey("g", "t", 0)
    key, value = rec.group_metadata_record("g", None)
    assert value is None and rec.decode_key(key) == rec.GroupMetadataKey("g")
