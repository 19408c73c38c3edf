"""SaslAuthenticate (key 36), versions 0–2.

The tokens of a login on a SASL_PLAINTEXT connection are handled before any handler runs
(engine/broker/sasl_connection.py). This handler answers the ones that reach the request
path — on a PLAINTEXT connection, or after authentication (no re-authentication: KIP-368 is
not implemented) — with ILLEGAL_SASL_STATE and Kafka's message.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(36, 0, 2)
async def handle_sasl_authenticate(request, ctx):
    m = codec.response_module(36, ctx.api_version)
    return codec.build(m.SaslAuthenticateResponse, error_code=ErrorCode.illegal_sasl_state,
                       error_message="SaslAuthenticate request received after successful authentication",
                       auth_bytes=b"", session_lifetime=timedelta(0))
