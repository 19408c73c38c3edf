"""A request body checked against its schema before kio's native reader builds it.

kio's reader reserves memory for the element count an array announces before it reads a
single element; a 24-byte frame announcing 2**32 elements makes that allocation fail, and a
failed allocation in native code aborts the whole broker process, which no `except` can
catch. So every body is first walked here, in Python, field by field: each array count and
each string or bytes length must fit in the bytes that are left, and null must be allowed
where it is sent (a null array where the schema has none reached handlers as None). A
violation is MalformedRequest: that connection is closed with a log line, as for any
malformed frame. The walk only reads lengths and skips the rest, so it costs a few
microseconds per request (record batches are skipped whole).
"""

from __future__ import annotations

import dataclasses
import struct
from functools import cache
from types import NoneType, UnionType
from typing import Union, get_args, get_origin

from kio.serial._introspect import EntityField, EntityTupleField, PrimitiveTupleField, classify_field

from .framing import MalformedRequest, read_uvarint

__all__ = ["check_request_body"]

_FIXED = {"bool": 1, "int8": 1, "int16": 2, "int32": 4, "int64": 8, "float64": 8,
          "timedelta_i32": 4, "timedelta_i64": 8, "uuid": 16}
_INT8, _INT16, _INT32 = struct.Struct(">b"), struct.Struct(">h"), struct.Struct(">i")
_PRIMITIVE, _ENTITY, _PRIMITIVE_ARRAY, _ENTITY_ARRAY = range(4)


def _nullable(field: dataclasses.Field) -> bool:
    """Whether the field itself (not its elements) may be null."""
    return get_origin(field.type) in (UnionType, Union) and NoneType in get_args(field.type)


@cache
def _plan(cls) -> tuple[bool, tuple]:
    steps = []
    for field in dataclasses.fields(cls):
        if field.metadata.get("tag") is not None:
            continue  # a tagged field travels in the tagged-fields section
        kind = classify_field(field)
        if isinstance(kind, EntityTupleField):
            steps.append((field.name, _ENTITY_ARRAY, None, _nullable(field), kind.type_))
        elif isinstance(kind, EntityField):
            steps.append((field.name, _ENTITY, None, _nullable(field), kind.type_))
        elif isinstance(kind, PrimitiveTupleField):
            steps.append((field.name, _PRIMITIVE_ARRAY, field.metadata["kafka_type"], _nullable(field), None))
        else:
            steps.append((field.name, _PRIMITIVE, field.metadata["kafka_type"], _nullable(field), None))
    return bool(cls.__flexible__), tuple(steps)


def check_request_body(schema, frame, offset: int) -> None:
    """Raise MalformedRequest unless `frame[offset:]` can be read as `schema` within its bytes."""
    end = len(frame)
    try:
        _walk(schema, frame, offset, end)
    except struct.error as exc:
        raise MalformedRequest(f"{schema.__name__} is cut short: {exc}") from None


def _fail(name: str, why: str):
    raise MalformedRequest(f"field {name}: {why}")


def _length(buf, pos: int, flexible: bool, legacy: struct.Struct) -> tuple[int, int]:
    """A length or count as the encoding gives it: -1 for null."""
    if flexible:
        n, pos = read_uvarint(buf, pos)
        return n - 1, pos
    (n,) = legacy.unpack_from(buf, pos)
    return n, pos + legacy.size


def _skip_primitive(name: str, kafka_type: str, nullable: bool, flexible: bool, buf, pos: int, end: int) -> int:
    size = _FIXED.get(kafka_type)
    if size is not None:
        pos += size
    elif kafka_type in ("string", "bytes", "records"):
        n, pos = _length(buf, pos, flexible, _INT16 if kafka_type == "string" else _INT32)
        if n < 0:
            if n != -1 or not nullable:
                _fail(name, f"length {n}, but it is not nullable" if n == -1 else f"invalid length {n}")
            return pos
        pos += n
    else:  # varint-encoded integers: read them to find their end
        _, pos = read_uvarint(buf, pos)
    if pos > end:
        _fail(name, "runs past the end of the request")
    return pos


def _walk(cls, buf, pos: int, end: int) -> int:
    flexible, steps = _plan(cls)
    for name, kind, kafka_type, nullable, sub in steps:
        if kind == _PRIMITIVE:
            pos = _skip_primitive(name, kafka_type, nullable, flexible, buf, pos, end)
        elif kind == _ENTITY:
            if nullable:
                (marker,) = _INT8.unpack_from(buf, pos)
                pos += 1
                if marker == -1:
                    continue
                if marker != 1:
                    _fail(name, f"invalid presence marker {marker}")
            pos = _walk(sub, buf, pos, end)
        else:
            count, pos = _length(buf, pos, flexible, _INT32)
            if count < 0:
                if count != -1 or not nullable:
                    _fail(name, "null array, but it is not nullable" if count == -1 else f"invalid count {count}")
                continue
            if count > end - pos:  # every element takes at least one byte
                _fail(name, f"{count} elements announced with {end - pos} bytes left")
            if kind == _ENTITY_ARRAY:
                for _ in range(count):
                    pos = _walk(sub, buf, pos, end)
            elif kafka_type in _FIXED:
                pos += count * _FIXED[kafka_type]
            else:
                for _ in range(count):
                    pos = _skip_primitive(name, kafka_type, True, flexible, buf, pos, end)
            if pos > end:
                _fail(name, "runs past the end of the request")
    if flexible:  # tagged fields: a count, then tag, size and bytes for each
        count, pos = read_uvarint(buf, pos)
        for _ in range(count):
            _tag, pos = read_uvarint(buf, pos)
            size, pos = read_uvarint(buf, pos)
            pos += size
            if pos > end:
                _fail(f"{cls.__name__} tagged fields", "run past the end of the request")
    return pos
