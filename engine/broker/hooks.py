"""Fault hooks built into the request path (librdkafka mock / kfake ControlKey style).

Tests and the console's failure rehearsal push delays or dropped connections for an API
key; the dispatcher asks `before(ctx)` only while a hook is set, so the normal path pays
nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from partita.engine.protocol.framing import MalformedRequest


@dataclass
class _Fault:
    disconnect: bool
    delay_ms: int


class FaultHooks:
    def __init__(self):
        self._faults: dict[int, deque[_Fault]] = {}

    @property
    def active(self) -> bool:
        return bool(self._faults)

    def push_disconnects(self, api_key: int, count: int = 1) -> None:
        """The next `count` requests of `api_key` get their connection closed instead of an answer."""
        self._faults.setdefault(api_key, deque()).extend(_Fault(True, 0) for _ in range(count))

    def push_delays(self, api_key: int, delay_ms: int, count: int = 1) -> None:
        self._faults.setdefault(api_key, deque()).extend(_Fault(False, delay_ms) for _ in range(count))

    def clear(self) -> None:
        self._faults.clear()

    async def before(self, ctx) -> None:
        queue = self._faults.get(ctx.api_key)
        if not queue:
            return
        fault = queue.popleft()
        if not queue:
            del self._faults[ctx.api_key]
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        if fault.disconnect:
            raise MalformedRequest(f"injected disconnect for API key {ctx.api_key}")
