"""SaslHandshake (key 17), versions 0–1, as Kafka 4.1 (v0 is deprecated but still accepted).

On a SASL_PLAINTEXT connection the handshake is served before any handler runs
(engine/broker/sasl_connection.py). This handler answers the ones that reach the request
path: on a PLAINTEXT connection, or again after authentication. Both get ILLEGAL_SASL_STATE
and no mechanisms, as Kafka's KafkaApis answers them (no re-authentication, KIP-368).
"""

from __future__ import annotations

from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(17, 0, 1)
async def handle_sasl_handshake(request, ctx):
    m = codec.response_module(17, ctx.api_version)
    return m.SaslHandshakeResponse(error_code=ErrorCode.illegal_sasl_state, mechanisms=())
