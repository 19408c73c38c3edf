"""ProduceResponse v3–v10 encoded by hand: it is sent for every produce request.

Layout (v3–v8): responses [name string, partitions [index int32, error_code int16,
base_offset int64, log_append_time int64, log_start_offset int64 (v5+), record_errors
[batch_index int32, message nullable string] (v8+), error_message nullable string (v8+)]],
throttle_time_ms int32. v9+ is flexible: compact arrays and strings, and an empty tagged
field section after each struct (v10's tagged leader hints are not sent).
"""

from __future__ import annotations

import struct

from partita.engine.protocol.wire import length, nullable_string, string

_PARTITION = struct.Struct(">ihqq")
_Q = struct.Struct(">q")
_I = struct.Struct(">i")


def encode(version: int, results: dict[str, list[tuple]]) -> bytes:
    """results: topic -> [(index, error_code, base_offset, log_append_time, log_start_offset, message,
    record_errors)], record_errors being (batch_index, message) pairs."""
    flexible = version >= 9
    out = [length(len(results), flexible)]
    for name, partitions in results.items():
        out.append(string(name, flexible))
        out.append(length(len(partitions), flexible))
        for index, error, base_offset, append_time, start_offset, message, record_errors in partitions:
            out.append(_PARTITION.pack(index, error, base_offset, append_time))
            if version >= 5:
                out.append(_Q.pack(start_offset))
            if version >= 8:
                out.append(length(len(record_errors), flexible))
                for batch_index, record_message in record_errors:
                    out.append(_I.pack(batch_index))
                    out.append(nullable_string(record_message, flexible))
                    if flexible:
                        out.append(b"\x00")
                out.append(nullable_string(message, flexible))
            if flexible:
                out.append(b"\x00")
        if flexible:
            out.append(b"\x00")
    out.append(b"\x00\x00\x00\x00")  # throttle_time_ms
    if flexible:
        out.append(b"\x00")
    return b"".join(out)
