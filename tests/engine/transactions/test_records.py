"""`__transaction_state` records: Kafka's TransactionLogKey/Value v0 layout, byte for byte."""

from __future__ import annotations

import struct

import pytest

from partita.engine.transactions import records as rec
from partita.engine.transactions.state import TxnMetadata, TxnState


def test_key_is_version_0_and_the_id():
    assert rec.encode_key("orders") == b"\x00\x00\x00\x06orders"
    assert rec.decode_key(rec.encode_key("orders")) == "orders"


def test_value_v0_layout_and_round_trip():
    value = rec.TxnLogValue(producer_id=42, producer_epoch=3, timeout_ms=60000, status=int(TxnState.ONGOING),
                            partitions=(("a", (0, 2)), ("b", (1,))), last_update_ms=1700, start_ms=1600)
    raw = rec.encode_value(value)
    expected = (struct.pack(">hqhib", 0, 42, 3, 60000, 1) + struct.pack(">i", 2)
                + struct.pack(">h", 1) + b"a" + struct.pack(">iii", 2, 0, 2)
                + struct.pack(">h", 1) + b"b" + struct.pack(">ii", 1, 1)
                + struct.pack(">qq", 1700, 1600))
    assert raw == expected
    assert rec.decode_value(raw) == value


def test_metadata_round_trips_through_its_record():
    meta = TxnMetadata("orders", 42, 3, 60000, TxnState.PREPARE_COMMIT, {("a", 0), ("a", 2), ("b", 1)}, 1600, 1700)
    assert TxnMetadata.from_record("orders", rec.decode_value(rec.encode_value(meta.to_record()))) == meta


@pytest.mark.parametrize("raw", [b"", b"\x00\x00\x00", b"\x00\x07" + b"\x00" * 30])
def test_unreadable_values_are_a_format_error(raw):
    with pytest.raises(rec.RecordFormatError):
        rec.decode_value(raw)
