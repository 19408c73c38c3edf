"""Request bodies are checked against their schema before kio's native reader sees them."""

from __future__ import annotations

import io
import struct
from datetime import timedelta

import pytest
from kio.schema.metadata.v12 import request as metadata_req
from kio.schema.produce.v9 import request as produce_req
from kio.serial import entity_writer

from partita.engine.protocol import codec
from partita.engine.protocol.framing import MalformedRequest
from partita.engine.protocol.request_bounds import check_request_body


def body(entity) -> bytes:
    buf = io.BytesIO()
    entity_writer(type(entity))(buf, entity)
    return buf.getvalue()


def test_well_formed_requests_pass():
    produce = produce_req.ProduceRequest(
        transactional_id=None, acks=-1, timeout=timedelta(seconds=5),
        topic_data=(produce_req.TopicProduceData(name="t", partition_data=(
            produce_req.PartitionProduceData(index=0, records=b"\x00" * 70),)),))
    check_request_body(produce_req.ProduceRequest, body(produce), 0)
    everything = metadata_req.MetadataRequest(topics=None, allow_auto_topic_creation=True,
                                              include_topic_authorized_operations=False)
    check_request_body(metadata_req.MetadataRequest, body(everything), 0)
    named = metadata_req.MetadataRequest(topics=(metadata_req.MetadataRequestTopic(name="t", topic_id=None),),
                                         allow_auto_topic_creation=False, include_topic_authorized_operations=False)
    check_request_body(metadata_req.MetadataRequest, body(named), 0)


@pytest.mark.parametrize("key, version, raw, why", [
    (3, 12, b"\xff\xff\xff\xff\x0f", "elements announced"),  # a compact array of 2**32 - 2
    (9, 5, struct.pack(">hi", 1, 0) + b"g" + struct.pack(">i", 0x7FFFFFFF), "elements announced"),
    (2, 1, struct.pack(">ii", -1, -1), "not nullable"),  # ListOffsets v1: null topics
    (2, 1, struct.pack(">ii", -1, -7), "invalid count"),
    (0, 9, b"\x00\xff\xff", "runs past the end"),
])
def test_counts_lengths_and_nulls_that_do_not_fit_are_malformed(key, version, raw, why):
    with pytest.raises(MalformedRequest, match=why):
        check_request_body(codec.request_schema(key, version), raw, 0)
