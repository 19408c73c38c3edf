"""Message bodies through kio: one cached reader and writer per (api key, version).

kio's readers are native and fast; its writers are pure Python, so the hot responses
(Produce, Fetch) are encoded by hand in their own modules.
"""

from __future__ import annotations

import io
from functools import cache

from kio.index import load_request_schema, load_response_schema
from kio.serial import entity_reader, entity_writer


@cache
def request_schema(api_key: int, version: int):
    """kio's request class, or None where kio has no schema for that version."""
    try:
        return load_request_schema(api_key, version)
    except Exception:
        return None


@cache
def response_schema(api_key: int, version: int):
    try:
        return load_response_schema(api_key, version)
    except Exception:
        return None


@cache
def _reader(api_key: int, version: int):
    return entity_reader(request_schema(api_key, version))


@cache
def _writer(cls):
    return entity_writer(cls)


def request_is_flexible(api_key: int, version: int) -> bool:
    schema = request_schema(api_key, version)
    return bool(schema is not None and schema.__flexible__)


def response_is_flexible(api_key: int, version: int) -> bool:
    schema = response_schema(api_key, version)
    return bool(schema is not None and schema.__flexible__)


def decode_request(api_key: int, version: int, frame: bytes | memoryview, offset: int):
    entity, _size = _reader(api_key, version)(frame, offset)
    return entity


def encode(entity) -> bytes:
    buf = io.BytesIO()
    _writer(type(entity))(buf, entity)
    return buf.getvalue()


def response_module(api_key: int, version: int):
    """The kio module holding a response version's classes, for handlers serving many versions."""
    import sys

    return sys.modules[response_schema(api_key, version).__module__]


@cache
def response_reader(api_key: int, version: int):
    return entity_reader(response_schema(api_key, version))


def build(cls, **fields):
    """Construct `cls` from the fields it has: one call site serves every version of a message."""
    names = cls.__dataclass_fields__
    return cls(**{k: v for k, v in fields.items() if k in names})
