"""DescribeUserScramCredentials (key 50), version 0.

For each user with SCRAM credentials stored by the controller (AlterUserScramCredentials,
key 51), its mechanisms and iteration counts — never salts or keys. Null or no users
means every user; a named user without credentials answers RESOURCE_NOT_FOUND and a
user named twice DUPLICATE_RESOURCE, with Kafka 4.1's messages. Any broker answers,
asking the controller.

The SASL_PLAINTEXT listener (partita-engine up --sasl-users) authenticates with these
credentials: SCRAM-SHA-256/512 directly, PLAIN by salting the password with them.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.common import controller_call
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(50, 0, 0)
async def handle_describe_user_scram_credentials(request, ctx):
    m = codec.response_module(50, ctx.api_version)
    users = None if request.users is None else [u.name for u in request.users]
    results = await controller_call(ctx, "DescribeUserScramCredentials", users=users)
    return codec.build(
        m.DescribeUserScramCredentialsResponse, throttle_time=timedelta(0), error_code=ErrorCode.none,
        error_message="",
        results=tuple(
            codec.build(m.DescribeUserScramCredentialsResult, user=r["user"], error_code=ErrorCode(r["error_code"]),
                        error_message=r["error_message"],
                        credential_infos=tuple(codec.build(m.CredentialInfo, mechanism=mechanism, iterations=iterations)
                                               for mechanism, iterations in r["credentials"]))
            for r in results
        ),
    )
