"""Produce (key 0), versions 0–10 advertised; 0–2 refused with UNSUPPORTED_VERSION.

Kafka 4.0 advertises Produce from v0 (older librdkafka disables compression otherwise)
and refuses v0–2 per partition at request time; so do we. Batches stay bytes: the log
validates headers and CRCs and patches offsets in place. acks=0 gets no response; acks=1
answers after the leader's append; acks=-1 (all) first checks min.insync.replicas (at most the replica count, as Kafka 4), then
waits until the high watermark passes the batch. If the ISR shrinks below the minimum
while waiting, the answer is NOT_ENOUGH_REPLICAS_AFTER_APPEND (the data is in the log).
Transactional batches open their producer's transaction in the partition (producer_state.py).
With transaction.partition.verification.enable (Kafka's default since 3.6; dynamic), a batch
that would open it is first verified with the transaction's coordinator
(transactions/verification.py) and appended only if the partition is in the transaction and
nothing ended it meanwhile; else INVALID_TXN_STATE. The request's other partitions wait for
the answer with it, as in Kafka. Records the log refuses one by one (a keyless record on a
compacted topic) come back as INVALID_RECORD with Kafka's record_errors and message.
"""

from __future__ import annotations

import asyncio
import struct

from partita.engine.api import produce_response
from partita.engine.api.common import await_replication
from partita.engine.api.registry import RawRequest, api
from partita.engine.broker.partition import now_ms
from partita.engine.log.batch import HEADER_SIZE, read_header
from partita.engine.log.errors import LogError
from partita.engine.log.producer_state import UNVERIFIED
from partita.engine.protocol.errors import ErrorCode
from partita.engine.protocol.framing import MalformedRequest

_NO_OFFSET = -1


@api(0, 0, 10)
async def handle_produce(request, ctx):
    if isinstance(request, RawRequest):
        return _refuse_old_version(request)
    acks = request.acks
    results: dict[tuple[str, int], dict] = {}
    waits = []
    broker = ctx.broker
    timeout_s = max(request.timeout.total_seconds(), 0.001)
    verifying = (request.transactional_id is not None and broker.txn_verifier is not None and acks in (0, 1, -1)
                 and broker.setting("transaction.partition.verification.enable", "true").lower() == "true")
    verified = await _verify(request, broker, broker.txn_verifier) if verifying else {}
    for topic_data in request.topic_data:
        name = topic_data.name
        for pd in topic_data.partition_data:
            key = (name, pd.index)
            result = results[key] = {"error_code": ErrorCode.none, "base_offset": _NO_OFFSET,
                                     "log_append_time": -1, "log_start_offset": -1, "error_message": None,
                                     "record_errors": ()}
            if acks not in (0, 1, -1):
                result["error_code"] = ErrorCode.invalid_required_acks
                continue
            partition = broker.replicas.get(name, pd.index)
            if partition is None or not partition.is_leader:
                known = broker.metadata.partition(name, pd.index) is not None
                result["error_code"] = (ErrorCode.not_leader_or_follower if known
                                        else ErrorCode.unknown_topic_or_partition)
                continue
            if not pd.records:
                result["error_code"] = ErrorCode.invalid_record
                result["error_message"] = "the request carries no record batch"
                continue
            if acks == -1:
                min_isr = partition.effective_min_isr
                if len(partition.state.isr) < min_isr:
                    result["error_code"] = ErrorCode.not_enough_replicas
                    result["error_message"] = (f"the ISR {list(partition.state.isr)} is smaller than "
                                               f"min.insync.replicas={min_isr}")
                    continue
            guard = None
            if verifying:
                guard = verified.get(key, UNVERIFIED)
                if isinstance(guard, ErrorCode):
                    result["error_code"] = guard
                    result["error_message"] = _VERIFICATION_MESSAGES.get(guard)
                    continue
            try:
                appended = partition.log.append_as_leader(pd.records, partition.leader_epoch, now_ms(),
                                                          verification_guard=guard)
            except LogError as exc:
                result["error_code"] = ErrorCode(exc.code)
                result["error_message"] = exc.message
                result["record_errors"] = getattr(exc, "record_errors", ())
                continue
            result["base_offset"] = appended.base_offset
            result["log_append_time"] = appended.log_append_time
            result["log_start_offset"] = partition.log.log_start_offset
            partition.maybe_advance_hw()
            partition.notify()
            if acks == -1 and not appended.duplicate and partition.high_watermark <= appended.last_offset:
                waits.append((result, partition, appended.last_offset + 1, min_isr))
    if acks == 0:
        return None
    if waits:
        await asyncio.gather(*(_await_replication(r, p, o, m, timeout_s) for r, p, o, m in waits))
    return _response(ctx.api_version, results)


_VERIFICATION_MESSAGES = {  # Kafka's
    ErrorCode.invalid_txn_state: "Partition was not added to the transaction",
    ErrorCode.not_enough_replicas: "Unable to verify the partition has been added to the transaction",
}


async def _verify(request, broker, verifier) -> dict[tuple[str, int], object]:
    """For each partition whose transactional batch would open its producer's transaction: the
    guard to append it with, or the error to answer (see transactions/verification.py)."""
    needed: dict[tuple[int, int], dict[tuple[str, int], object]] = {}  # (producer id, epoch) -> guards
    for topic_data in request.topic_data:
        for pd in topic_data.partition_data:
            partition = broker.replicas.get(topic_data.name, pd.index)
            if partition is None or not partition.is_leader or not pd.records or len(pd.records) < HEADER_SIZE:
                continue  # answered in the main loop
            h = read_header(pd.records, 0)
            if not h.is_transactional or h.is_control or h.producer_id < 0:
                continue
            try:
                guard = partition.log.start_verification(h.producer_id, h.producer_epoch, now_ms())
            except LogError:
                continue  # the append will say what is wrong
            if guard is not None:
                needed.setdefault((h.producer_id, h.producer_epoch), {})[(topic_data.name, pd.index)] = guard
    out: dict[tuple[str, int], object] = {}
    for (producer_id, epoch), guards in needed.items():
        errors = await verifier.verify(request.transactional_id, producer_id, epoch, list(guards))
        for key, guard in guards.items():
            out[key] = guard if errors[key] == ErrorCode.none else errors[key]
    return out


async def _await_replication(result, partition, offset, min_isr, timeout_s) -> None:
    error = await await_replication(partition, offset, timeout_s)
    if error == ErrorCode.none and len(partition.state.isr) < min_isr:
        error = ErrorCode.not_enough_replicas_after_append
    result["error_code"] = error


def _response(version: int, results: dict) -> bytes:
    by_topic: dict[str, list[tuple]] = {}
    for (name, index), r in results.items():
        by_topic.setdefault(name, []).append((index, int(r["error_code"]), r["base_offset"], r["log_append_time"],
                                              r["log_start_offset"], r["error_message"], r["record_errors"]))
    return produce_response.encode(version, by_topic)


def _refuse_old_version(request: RawRequest) -> bytes:
    """Parse a v0–2 request just enough to answer UNSUPPORTED_VERSION for each partition.

    Untrusted bytes: every count and length must fit in what is left (each topic and partition
    takes bytes), else the request is malformed and its connection closed."""
    body, pos = bytes(request.body), 0
    end = len(body)

    def take(fmt: str) -> tuple:
        nonlocal pos
        size = struct.calcsize(fmt)
        if pos + size > end:
            raise MalformedRequest(f"Produce v{request.api_version} is cut short")
        values = struct.unpack_from(fmt, body, pos)
        pos += size
        return values

    (acks, _timeout, topic_count) = take(">hii")
    if not 0 <= topic_count <= end - pos:
        raise MalformedRequest(f"Produce v{request.api_version}: invalid topic count {topic_count}")
    out = [struct.pack(">i", topic_count)]
    for _ in range(topic_count):
        (name_len,) = take(">h")
        if not 0 <= name_len <= end - pos:
            raise MalformedRequest(f"Produce v{request.api_version}: invalid topic name length {name_len}")
        name = body[pos : pos + name_len]
        pos += name_len
        (partition_count,) = take(">i")
        if not 0 <= partition_count <= end - pos:
            raise MalformedRequest(f"Produce v{request.api_version}: invalid partition count {partition_count}")
        out.append(struct.pack(">h", name_len) + name + struct.pack(">i", partition_count))
        for _ in range(partition_count):
            index, size = take(">ii")
            if size > end - pos:
                raise MalformedRequest(f"Produce v{request.api_version}: records run past the end")
            pos += max(size, 0)
            out.append(struct.pack(">ihq", index, int(ErrorCode.unsupported_version), -1))
            if request.api_version >= 2:
                out.append(struct.pack(">q", -1))
    if request.api_version >= 1:
        out.append(struct.pack(">i", 0))
    return None if acks == 0 else b"".join(out)
