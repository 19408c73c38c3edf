"""The handler registry: API key → version range and handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

# A handler takes the decoded request (a kio entity, or RawRequest for versions kio lacks)
# and the RequestContext; it returns a kio response entity, already-encoded body bytes,
# or None when no response is due (Produce with acks=0).
Handle = Callable[[Any, Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class ApiHandler:
    key: int
    name: str
    min_version: int
    max_version: int
    handle: Handle


@dataclass(frozen=True, slots=True)
class RawRequest:
    """A request body kio has no schema for (Produce v0–2): the handler parses what it needs."""

    api_version: int
    body: memoryview


REGISTRY: dict[int, ApiHandler] = {}


def api(key: int, min_version: int, max_version: int):
    """Register the decorated coroutine as the handler of `key` for [min, max]."""

    def register(fn: Handle) -> Handle:
        if key in REGISTRY:
            raise RuntimeError(f"API key {key} registered twice")
        name = fn.__module__.rsplit(".", 1)[-1].split("_", 1)[-1]
        REGISTRY[key] = ApiHandler(key, name, min_version, max_version, fn)
        return fn

    return register
