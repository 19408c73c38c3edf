"""DeleteAcls (key 31), versions 1–3 (Kafka 4 removed v0).

The engine has no authorizer (see acls.py): each filter is answered SECURITY_DISABLED
with no matching ACLs, as Kafka without `authorizer.class.name` answers it.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.acls import CHANGE_MESSAGE, NO_AUTHORIZER
from partita.engine.api.registry import api
from partita.engine.protocol import codec


@api(31, 1, 3)
async def handle_delete_acls(request, ctx):
    m = codec.response_module(31, ctx.api_version)
    return codec.build(
        m.DeleteAclsResponse, throttle_time=timedelta(0),
        filter_results=tuple(codec.build(m.DeleteAclsFilterResult, error_code=NO_AUTHORIZER,
                                         error_message=CHANGE_MESSAGE, matching_acls=())
                             for _ in request.filters),
    )
