"""IncrementalAlterConfigs (key 44), versions 0–1.

Topic configs (type 2) and dynamic broker configs (type 4; resource name "" for the
cluster-wide default, or a broker id) change through the controller, which validates
names and values; ops SET, DELETE, APPEND and SUBTRACT (lists only). Broker loggers
(type 8, resource name = this broker's id) change here, in this broker's process
(engine/broker/broker_loggers.py). validate_only checks without changing.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.config_changes import change_configs
from partita.engine.api.registry import api
from partita.engine.broker import broker_loggers
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode

BROKER_LOGGER = 8


@api(44, 0, 1)
async def handle_incremental_alter_configs(request, ctx):
    m = codec.response_module(44, ctx.api_version)
    resources = [
        {"resource_type": r.resource_type, "resource_name": r.resource_name,
         "configs": [{"name": c.name, "op": c.config_operation, "value": c.value} for c in r.configs]}
        for r in request.resources
    ]
    for_controller = [r for r in resources if r["resource_type"] != BROKER_LOGGER]
    answered = iter(await change_configs(ctx, m, for_controller, request.validate_only) if for_controller else ())
    responses = tuple(_change_loggers(ctx, m, r, request.validate_only) if r["resource_type"] == BROKER_LOGGER
                      else next(answered) for r in resources)
    return codec.build(m.IncrementalAlterConfigsResponse, throttle_time=timedelta(0), responses=responses)


def _change_loggers(ctx, m, resource: dict, validate_only: bool):
    error, message = ErrorCode.none, broker_loggers.wrong_broker(ctx.broker.node_id, resource["resource_name"])
    if message:
        error = ErrorCode.invalid_request
    else:
        try:
            broker_loggers.change([(c["name"], c["op"], c["value"]) for c in resource["configs"]], validate_only)
        except broker_loggers.BrokerLoggerError as exc:
            error, message = exc.code, exc.message
    return codec.build(m.AlterConfigsResourceResponse, error_code=error, error_message=message,
                       resource_type=BROKER_LOGGER, resource_name=resource["resource_name"])
