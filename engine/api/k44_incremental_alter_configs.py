"""IncrementalAlterConfigs (key 44), versions 0–1.

Topic configs (type 2) and dynamic broker configs (type 4; resource name "" for the
cluster-wide default, or a broker id) change through the controller, which validates
names and values; ops SET, DELETE, APPEND and SUBTRACT (lists only). validate_only
checks without changing.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.config_changes import change_configs
from partita.engine.api.registry import api
from partita.engine.protocol import codec


@api(44, 0, 1)
async def handle_incremental_alter_configs(request, ctx):
    m = codec.response_module(44, ctx.api_version)
    resources = [
        {"resource_type": r.resource_type, "resource_name": r.resource_name,
         "configs": [{"name": c.name, "op": c.config_operation, "value": c.value} for c in r.configs]}
        for r in request.resources
    ]
    responses = await change_configs(ctx, m, resources, request.validate_only)
    return codec.build(m.IncrementalAlterConfigsResponse, throttle_time=timedelta(0), responses=responses)
