"""FetchResponse v4–v12 encoded by hand, keeping record bytes as they came from the log.

Layout: throttle_time_ms int32, [error_code int16, session_id int32 (v7+)], responses
[topic string, partitions [partition_index int32, error_code int16, high_watermark int64,
last_stable_offset int64, log_start_offset int64 (v5+), aborted_transactions nullable array
[producer_id int64, first_offset int64] (null for read_uncommitted fetches),
preferred_read_replica int32 (v11+), records nullable bytes]].
v12 is flexible: compact arrays, strings and bytes, and empty tagged-field sections.
The result is a list of chunks so the records are copied once, into the outgoing frame.
"""

from __future__ import annotations

import struct

from partita.engine.protocol.wire import length, string

_HEAD = struct.Struct(">ihqq")
_Q = struct.Struct(">q")
_NULL_ARRAY = {False: b"\xff\xff\xff\xff", True: b"\x00"}
_ABORTED = struct.Struct(">qq")
_SESSION = struct.Struct(">hi")


def encode(version: int, topics: list[tuple[str, list[tuple]]], *, error_code: int = 0, session_id: int = 0) -> list:
    """topics: [(name, [(index, error_code, hw, lso, log_start, records, aborted)])] -> body chunks;
    aborted is None or [(producer_id, first_offset)]; error_code and session_id from v7."""
    flexible = version >= 12
    out: list = [b"\x00\x00\x00\x00"]  # throttle_time_ms
    if version >= 7:
        out.append(_SESSION.pack(error_code, session_id))
    out.append(length(len(topics), flexible))
    for name, partitions in topics:
        out.append(string(name, flexible))
        out.append(length(len(partitions), flexible))
        for index, error, hw, lso, log_start, records, aborted in partitions:
            out.append(_HEAD.pack(index, error, hw, lso))
            if version >= 5:
                out.append(_Q.pack(log_start))
            if aborted is None:
                out.append(_NULL_ARRAY[flexible])
            else:
                out.append(length(len(aborted), flexible))
                for producer_id, first_offset in aborted:
                    out.append(_ABORTED.pack(producer_id, first_offset))
                    if flexible:
                        out.append(b"\x00")
            if version >= 11:
                out.append(b"\xff\xff\xff\xff")  # preferred_read_replica -1
            out.append(length(len(records), flexible))
            if records:
                out.append(records)
            if flexible:
                out.append(b"\x00")
        if flexible:
            out.append(b"\x00")
    if flexible:
        out.append(b"\x00")
    return out
