"""AlterUserScramCredentials (key 51), version 0.

Upserts and deletes SCRAM-SHA-256 / SCRAM-SHA-512 credentials. Any broker takes the
request to the controller, the single writer, which checks it as Kafka 4.1 does
(non-empty user, known mechanism, 4096–16384 iterations, one alteration per user per
request, deleting only what exists; engine/cluster/scram_credentials.py), derives the
StoredKey and ServerKey from the client's salted password and persists them with salt
and iterations — the salted password itself is never stored — before answering.

The credentials are part of the metadata image the controller pushes, so the brokers' SASL
listeners accept a new user, or refuse a deleted one, from their next image on.
"""

from __future__ import annotations

import base64
from datetime import timedelta

from partita.engine.api.common import controller_call
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(51, 0, 0)
async def handle_alter_user_scram_credentials(request, ctx):
    m = codec.response_module(51, ctx.api_version)
    results = await controller_call(
        ctx, "AlterUserScramCredentials",
        deletions=[[d.name, d.mechanism] for d in request.deletions],
        upsertions=[{"name": u.name, "mechanism": u.mechanism, "iterations": u.iterations,
                     "salt": base64.b64encode(u.salt).decode(),
                     "salted_password": base64.b64encode(u.salted_password).decode()}
                    for u in request.upsertions],
    )
    return codec.build(
        m.AlterUserScramCredentialsResponse, throttle_time=timedelta(0),
        results=tuple(codec.build(m.AlterUserScramCredentialsResult, user=r["user"],
                                  error_code=ErrorCode(r["error_code"]), error_message=r["error_message"])
                      for r in results),
    )
