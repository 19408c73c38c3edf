"""The handler registry and ApiVersions, sans I/O."""

from __future__ import annotations

import asyncio
import struct
from types import SimpleNamespace

import pytest
from kio.schema.api_versions.v3.request import ApiVersionsRequest
from kio.schema.api_versions.v3.response import ApiVersionsResponse
from kio.serial import entity_reader

from partita.engine.api import load_handlers
from partita.engine.broker.dispatch import Dispatcher
from partita.engine.broker.hooks import FaultHooks
from partita.engine.protocol import codec

# Versions kio has no schema for, which the handler parses by hand.
RAW = {(0, 0), (0, 1), (0, 2)}


def test_every_advertised_version_has_a_codec():
    for key, handler in load_handlers().items():
        for version in range(handler.min_version, handler.max_version + 1):
            if (key, version) in RAW:
                continue
            assert codec.request_schema(key, version) is not None, (handler.name, version)
            assert codec.response_schema(key, version) is not None, (handler.name, version)


def test_kip848_consumer_group_apis_are_advertised():
    # ConsumerGroupHeartbeat and ConsumerGroupDescribe: clients use them only when configured with
    # group.protocol=consumer (tests/engine/groups/test_consumer_protocol.py); classic members stay classic
    handlers = load_handlers()
    assert (handlers[68].min_version, handlers[68].max_version) == (0, 1)
    assert (handlers[69].min_version, handlers[69].max_version) == (0, 1)


def _dispatcher():
    return Dispatcher(SimpleNamespace(hooks=FaultHooks()))


def _request(key, version, correlation, body=b"", flexible=False):
    header = struct.pack(">hhih", key, version, correlation, 1) + b"t" + (b"\x00" if flexible else b"")
    return memoryview(header + body)


@pytest.mark.parametrize("version", [3, 4])
def test_api_versions_v3_and_v4_list_the_registry(version):
    body = codec.encode(ApiVersionsRequest(client_software_name="t", client_software_version="1"))
    frame = asyncio.run(_dispatcher().dispatch(_request(18, version, 42, body, flexible=True), "test"))
    size, correlation = struct.unpack_from(">ii", frame, 0)
    assert size == len(frame) - 4 and correlation == 42
    # header v0 even though v3+ is flexible; v4's body is v3's
    response, _ = entity_reader(ApiVersionsResponse)(frame, 8)
    advertised = {k.api_key: (k.min_version, k.max_version) for k in response.api_keys}
    assert advertised == {k: (h.min_version, h.max_version) for k, h in load_handlers().items()}


def test_api_versions_unknown_version_answers_v0_with_unsupported_version():
    frame = asyncio.run(_dispatcher().dispatch(_request(18, 77, 5), "test"))
    correlation, error, count = struct.unpack_from(">ihi", frame, 4)
    assert correlation == 5 and error == 35 and count == len(load_handlers())
