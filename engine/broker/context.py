"""What a handler knows about the request it serves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from partita.engine.broker.broker import Broker


@dataclass(frozen=True, slots=True)
class RequestContext:
    broker: Broker
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    peer: str
    listener: str = "PLAINTEXT"  # the listener the request came on (Metadata answers with its ports)
    principal: str = "User:ANONYMOUS"  # who authenticated on a SASL listener (kept for logs; no authorizer)
