"""Malformed and oversized frames close only their own connection; corrupt batches are refused."""

from __future__ import annotations

import io
import socket
import struct
import time
import uuid
from datetime import timedelta

import crc32c
from kio.schema.produce.v9 import request as produce_req
from kio.serial import entity_writer

from tests.engine.helpers import admin, consume, create_topic, produce


def _connect(cluster) -> socket.socket:
    host, port = cluster.address(1).split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, TimeoutError):
        return True


def test_garbage_frame_closes_only_that_connection(engine):
    create_topic(engine, "bystander")
    bad = _connect(engine)
    bad.sendall(struct.pack(">i", 12) + b"\x7f\x7fjunkjunk!!")
    assert _closed(bad)
    produce(engine, "bystander", [b"still fine"])
    assert consume(engine, "bystander", 1)[0].value() == b"still fine"


def test_oversized_frame_is_refused_before_reading_it(engine):
    bad = _connect(engine)
    bad.sendall(struct.pack(">i", 1 << 30) + b"\x00" * 64)
    assert _closed(bad)


def test_truncated_header_and_negative_size(engine):
    for payload in (struct.pack(">i", -5), struct.pack(">i", 3) + b"abc"):
        bad = _connect(engine)
        bad.sendall(payload)
        assert _closed(bad)


def test_unknown_api_versions_version_gets_v0_answer(engine):
    sock = _connect(engine)
    header = struct.pack(">hhih", 18, 99, 7, 4) + b"test"
    sock.sendall(struct.pack(">i", len(header)) + header)
    size = struct.unpack(">i", sock.recv(4))[0]
    body = b""
    while len(body) < size:
        body += sock.recv(size - len(body))
    correlation, error, count = struct.unpack_from(">ihi", body, 0)
    assert correlation == 7 and error == 35 and count > 10


def _batch(values: list[bytes], producer_id: int = -1, epoch: int = -1, sequence: int = -1) -> bytearray:
    """A minimal valid v2 batch (no compression) holding `values`, built without the engine's code."""
    def varint(n):
        n = (n << 1) ^ (n >> 63)
        out = bytearray()
        while True:
            b = n & 0x7F
            n >>= 7
            if n:
                out.append(b | 0x80)
            else:
                out.append(b)
                return bytes(out)

    records = b""
    for i, v in enumerate(values):
        body = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        records += varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, 0, 0, producer_id, epoch, sequence,
                            len(values)) + records
    crc = crc32c.crc32c(after_crc)
    head = struct.pack(">qiibI", 0, 4 + 1 + 4 + len(after_crc), -1, 2, crc)
    return bytearray(head + after_crc)


def _produce_raw(cluster, topic: str, records: bytes) -> int:
    return _produce_raw_result(cluster, topic, records)[0]


def _produce_raw_result(cluster, topic: str, records: bytes) -> tuple[int, int]:
    """(error code, base offset) of a Produce v9 request with acks=-1 carrying `records`."""
    request = produce_req.ProduceRequest(
        transactional_id=None, acks=-1, timeout=timedelta(seconds=5),
        topic_data=(produce_req.TopicProduceData(name=topic, partition_data=(
            produce_req.PartitionProduceData(index=0, records=bytes(records)),)),),
    )
    buf = io.BytesIO()
    entity_writer(produce_req.ProduceRequest)(buf, request)
    header = struct.pack(">hhih", 0, 9, 1, 3) + b"raw" + b"\x00"
    sock = _connect(cluster)
    sock.sendall(struct.pack(">i", len(header) + len(buf.getvalue())) + header + buf.getvalue())
    size = struct.unpack(">i", sock.recv(4))[0]
    body = b""
    while len(body) < size:
        body += sock.recv(size - len(body))
    sock.close()
    # correlation, tagged, topics(compact array len), name(compact), partitions len, index, error
    pos = 4 + 1 + 1
    name_len = body[pos] - 1
    pos += 1 + name_len + 1
    index, error, base_offset = struct.unpack_from(">ihq", body, pos)
    return error, base_offset


def test_corrupt_batch_is_refused_and_nothing_is_appended(single_broker):
    engine = single_broker
    create_topic(engine, "crc")
    good = _batch([b"one", b"two"])
    assert _produce_raw(engine, "crc", good) == 0
    bad = _batch([b"three"])
    bad[-1] ^= 0xFF  # flip a payload byte: CRC no longer matches
    assert _produce_raw(engine, "crc", bad) == 2  # CORRUPT_MESSAGE
    short = _batch([b"four"])[:-3]
    assert _produce_raw(engine, "crc", short) in (2, 87)  # CORRUPT_MESSAGE / INVALID_RECORD
    got = consume(engine, "crc", 2)
    assert [m.value() for m in got] == [b"one", b"two"]
    produce(engine, "crc", [b"after"])
    assert [m.value() for m in consume(engine, "crc", 3)] == [b"one", b"two", b"after"]


def test_idempotent_producer_duplicates_and_gaps(single_broker):
    """A retried batch is acknowledged with its first offset and not stored twice; a gap is refused."""
    from kio.schema.init_producer_id.v4.request import InitProducerIdRequest

    from tests.engine.helpers import raw_request

    cluster = single_broker
    create_topic(cluster, "idem")
    request = InitProducerIdRequest(transactional_id=None, transaction_timeout=timedelta(seconds=60),
                                    producer_id=-1, producer_epoch=-1)
    for _ in range(100):  # Kafka answers COORDINATOR_LOAD_IN_PROGRESS at first: retriable, as clients do
        init = raw_request(cluster.address(1), 22, 4, request)
        if int(init.error_code) not in (14, 15):
            break
        time.sleep(0.2)
    assert int(init.error_code) == 0 and init.producer_id >= 0
    pid, epoch = init.producer_id, init.producer_epoch
    first = _batch([b"a", b"b"], pid, epoch, 0)
    assert _produce_raw_result(cluster, "idem", first) == (0, 0)
    assert _produce_raw_result(cluster, "idem", first) == (0, 0)  # the retry: same answer, not stored
    assert _produce_raw_result(cluster, "idem", _batch([b"c"], pid, epoch, 2)) == (0, 2)
    error, _ = _produce_raw_result(cluster, "idem", _batch([b"gap"], pid, epoch, 7))
    assert error == 45  # OUT_OF_ORDER_SEQUENCE_NUMBER
    assert [m.value() for m in consume(cluster, "idem", 3)] == [b"a", b"b", b"c"]
    # Without a transactional id the id and epoch a request names are ignored (kafka-go sends 0/0):
    # always a fresh producer id at epoch 0, so two producers never share one
    again = raw_request(cluster.address(1), 22, 4, InitProducerIdRequest(
        transactional_id=None, transaction_timeout=timedelta(seconds=60), producer_id=pid, producer_epoch=epoch))
    assert (int(again.error_code), again.producer_epoch) == (0, 0) and again.producer_id not in (pid, -1)


def test_connections_beyond_max_connections_per_ip_are_closed(make_engine):
    """max.connections.per.ip (dynamic): a connection beyond it is closed at once, with a log
    line; once connections close, new ones are accepted again."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

    cluster = make_engine(brokers=1)
    host, port = cluster.address(1).split(":")

    def set_limit(value: str | None):
        a = admin(cluster)
        entry = ConfigEntry("max.connections.per.ip", value, incremental_operation=(
            AlterConfigOpType.SET if value is not None else AlterConfigOpType.DELETE))
        resource = ConfigResource("BROKER", "1", incremental_configs=[entry])
        a.incremental_alter_configs([resource])[resource].result(10)

    def api_versions(sock: socket.socket) -> bool:
        header = struct.pack(">hhi", 18, 0, 1) + struct.pack(">h", 4) + b"test"
        try:
            sock.sendall(struct.pack(">i", len(header)) + header)
            return len(sock.recv(4)) == 4
        except OSError:
            return False

    def probe() -> list[bool]:
        sockets = []
        try:
            answered = []
            for _ in range(8):
                s = socket.create_connection((host, int(port)), timeout=5)
                sockets.append(s)
                answered.append(api_versions(s))
            return answered
        finally:
            for s in sockets:
                s.close()

    set_limit("4")
    deadline = time.monotonic() + 15
    while True:  # until the broker has applied the new setting
        answered = probe()
        if False in answered or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert True in answered and False in answered, answered  # some served, the rest closed
    assert answered.index(False) <= 4 and all(not a for a in answered[answered.index(False):])
    time.sleep(0.3)
    with socket.create_connection((host, int(port)), timeout=5) as again:
        assert api_versions(again)
    set_limit(None)
    assert "max.connections.per.ip=4 reached" in (cluster.dir / "logs" / "broker-1.log").read_text()


def test_frames_built_to_exhaust_the_broker_close_only_their_connection(engine):
    """Frames the fuzzer found: an array announcing 2**32 elements in 24 bytes (kio's native
    reader reserved the memory first and the failed allocation aborted the process), a null
    array where none is allowed, and a Produce v2 whose topic name length steps backwards
    (an endless loop). Each closes its own connection with a log line; the broker serves on."""
    create_topic(engine, "bystander-2")
    header = struct.pack(">hhih", 3, 12, 7, 4) + b"fuzz" + b"\x00"  # Metadata v12, flexible header
    frames = [
        header + b"\xff\xff\xff\xff\x0f",  # topics: a compact array of 2**32 - 2 elements
        struct.pack(">hhih", 9, 5, 7, 4) + b"fuzz" + struct.pack(">hi", 1, 0) + b"g" + struct.pack(">i", 0x7FFFFFFF),
        struct.pack(">hhih", 2, 1, 7, 4) + b"fuzz" + struct.pack(">ii", -1, -1),  # ListOffsets: null topics
        struct.pack(">hhih", 0, 2, 7, 4) + b"fuzz" + struct.pack(">hii", 1, 1000, 0x7FFFFFFF)
        + struct.pack(">h", -6) + b"\x00" * 6,  # Produce v2: 2**31-1 topics, a negative name length
    ]
    for frame in frames:
        bad = _connect(engine)
        bad.sendall(struct.pack(">i", len(frame)) + frame)
        assert _closed(bad), frame.hex()
    produce(engine, "bystander-2", [b"still serving"])
    assert consume(engine, "bystander-2", 1)[0].value() == b"still serving"
    log_text = (engine.dir / "logs" / "broker-1.log").read_text()
    assert "elements announced" in log_text and "null array, but it is not nullable" in log_text
    assert "invalid topic count" in log_text


def test_a_batch_whose_records_loop_or_do_not_fit_is_refused(single_broker):
    """A batch counting 2**31-1 records whose one record has length -1 (reading it stepped back
    forever), and one whose record announces more bytes than it has: INVALID_RECORD on a
    compacted topic (whose keys the broker reads), engine and Kafka alike."""
    topic = f"compacted-{uuid.uuid4().hex[:8]}"
    create_topic(single_broker, topic, config={"cleanup.policy": "compact"})
    looping = bytearray(_batch([b"v"]))
    struct.pack_into(">i", looping, 57, 0x7FFFFFFF)  # recordCount
    struct.pack_into(">i", looping, 23, 0x7FFFFFFE)  # lastOffsetDelta
    looping[61] = 0x01  # the record's length: zigzag -1
    struct.pack_into(">I", looping, 17, crc32c.crc32c(bytes(looping[21:])))
    assert _produce_raw(single_broker, topic, looping) == 87  # INVALID_RECORD
    too_long = bytearray(_batch([b"v"]))
    too_long[61] = 0x7E  # the record's length: 63, far more than it has
    struct.pack_into(">I", too_long, 17, crc32c.crc32c(bytes(too_long[21:])))
    assert _produce_raw(single_broker, topic, too_long) == 87
    assert _produce_raw(single_broker, topic, _batch([b"keyless"])) == 87  # well formed, but no key
