"""The hand-written ProduceResponse encoder agrees with kio's generated one for every version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from kio.serial import entity_reader

from partita.engine.api import produce_response
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@pytest.mark.parametrize("version", range(3, 11))
def test_hand_encoding_decodes_with_kio(version):
    results = {"orders": [(0, 0, 42, -1, 0, None, ()), (3, 6, -1, -1, -1, "not the leader", ())],
               "t2": [(1, 0, 7, 1_700_000_000_000, 5, None, ())],
               "compacted": [(0, 87, -1, -1, -1, "rejected", [(0, "no key"), (2, "no key either")])]}
    body = produce_response.encode(version, results)
    decoded, size = entity_reader(codec.response_schema(0, version))(body, 0)
    assert size == len(body)
    assert decoded.throttle_time == timedelta(0)
    flat = {(t.name, p.index): p for t in decoded.responses for p in t.partition_responses}
    assert flat[("orders", 0)].base_offset == 42 and flat[("orders", 0)].error_code == ErrorCode.none
    assert flat[("orders", 3)].error_code == ErrorCode.not_leader_or_follower
    assert flat[("t2", 1)].log_append_time == datetime.fromtimestamp(1_700_000_000, UTC)
    if version >= 5:
        assert flat[("t2", 1)].log_start_offset == 5
    if version >= 8:
        assert flat[("orders", 3)].error_message == "not the leader"
        refused = flat[("compacted", 0)]
        assert [(e.batch_index, e.batch_index_error_message) for e in refused.record_errors] == [
            (0, "no key"), (2, "no key either")]
        assert refused.error_message == "rejected"


@pytest.mark.parametrize("version", range(4, 13))
def test_hand_encoded_fetch_response_decodes_with_kio(version):
    from partita.engine.api import fetch_response

    records = b"\x00" * 70
    aborted = [(7, 3), (9, 5)]
    chunks = fetch_response.encode(version, [("t", [(0, 0, 10, 4, 2, records, aborted),
                                                    (1, 1, -1, -1, -1, b"", None)])])
    body = b"".join(chunks)
    decoded, size = entity_reader(codec.response_schema(1, version))(body, 0)
    assert size == len(body)
    p0, p1 = decoded.responses[0].partitions
    assert (p0.partition_index, p0.high_watermark, p0.last_stable_offset, bytes(p0.records)) == (0, 10, 4, records)
    assert [(a.producer_id, a.first_offset) for a in p0.aborted_transactions] == aborted
    assert p1.error_code == ErrorCode.offset_out_of_range
    assert p1.aborted_transactions is None
    if version >= 5:
        assert p0.log_start_offset == 2
