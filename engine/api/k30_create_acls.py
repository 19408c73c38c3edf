"""CreateAcls (key 30), versions 1–3 (Kafka 4 removed v0).

The engine has no authorizer (see acls.py): each creation is answered SECURITY_DISABLED
and nothing is stored, as Kafka without `authorizer.class.name` answers it.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.acls import CHANGE_MESSAGE, NO_AUTHORIZER
from partita.engine.api.registry import api
from partita.engine.protocol import codec


@api(30, 1, 3)
async def handle_create_acls(request, ctx):
    m = codec.response_module(30, ctx.api_version)
    return codec.build(
        m.CreateAclsResponse, throttle_time=timedelta(0),
        results=tuple(codec.build(m.AclCreationResult, error_code=NO_AUTHORIZER, error_message=CHANGE_MESSAGE)
                      for _ in request.creations),
    )
