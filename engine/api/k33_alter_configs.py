"""AlterConfigs (key 33), versions 0–2: the legacy, non-incremental config change.

Each resource's dynamic configs are replaced by the ones given: configs it had and the
request leaves out go back to their defaults, and a null value removes one (Kafka's KRaft
controller does the same). Topic (type 2) and broker (type 4; "" for the cluster-wide
default) resources go through the controller's validation, as with IncrementalAlterConfigs;
validate_only checks without changing. Older tools still use it: kafka-python's and
Sarama's alter_configs, confluent-kafka's deprecated alter_configs.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.config_changes import change_configs
from partita.engine.api.registry import api
from partita.engine.protocol import codec

_SET, _DELETE = 0, 1


@api(33, 0, 2)
async def handle_alter_configs(request, ctx):
    m = codec.response_module(33, ctx.api_version)
    resources = [
        {"resource_type": r.resource_type, "resource_name": r.resource_name, "replace": True,
         "configs": [{"name": c.name, "op": _SET if c.value is not None else _DELETE, "value": c.value}
                     for c in r.configs]}
        for r in request.resources
    ]
    responses = await change_configs(ctx, m, resources, request.validate_only)
    return codec.build(m.AlterConfigsResponse, throttle_time=timedelta(0), responses=responses)
