"""DescribeAcls (key 29), versions 1–3 (Kafka 4 removed v0).

The engine has no authorizer (see acls.py): every request is answered SECURITY_DISABLED
with no resources, as Kafka without `authorizer.class.name` answers it.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.acls import DESCRIBE_MESSAGE, NO_AUTHORIZER
from partita.engine.api.registry import api
from partita.engine.protocol import codec


@api(29, 1, 3)
async def handle_describe_acls(request, ctx):
    m = codec.response_module(29, ctx.api_version)
    return codec.build(m.DescribeAclsResponse, throttle_time=timedelta(0), error_code=NO_AUTHORIZER,
                       error_message=DESCRIBE_MESSAGE, resources=())
