"""IncrementalAlterConfigs (key 44), versions 0–1.

Topic configs (type 2) and dynamic broker configs (type 4; resource name "" for the
cluster-wide default, or a broker id) change through the controller, which validates
names and values; ops SET, DELETE, APPEND and SUBTRACT (lists only). Broker loggers
(type 8, resource name = this broker's id) change here, in this broker's process
(engine/broker/broker_loggers.py). validate_only checks without changing. As Kafka, a request's
shape is checked first, per resource: one named twice, a config named twice, or a null value for
anything but DELETE is INVALID_REQUEST, and nothing of that resource changes.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.config_changes import change_configs
from partita.engine.api.registry import api
from partita.engine.broker import broker_loggers
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode

BROKER_LOGGER = 8
_DELETE = 1


@api(44, 0, 1)
async def handle_incremental_alter_configs(request, ctx):
    m = codec.response_module(44, ctx.api_version)
    resources = [
        {"resource_type": r.resource_type, "resource_name": r.resource_name,
         "configs": [{"name": c.name, "op": c.config_operation, "value": c.value} for c in r.configs]}
        for r in request.resources
    ]
    refused = _malformed(resources)
    for_controller = [r for i, r in enumerate(resources) if r["resource_type"] != BROKER_LOGGER and i not in refused]
    answered = iter(await change_configs(ctx, m, for_controller, request.validate_only) if for_controller else ())
    responses = tuple(
        _refusal(m, r, refused[i]) if i in refused
        else _change_loggers(ctx, m, r, request.validate_only) if r["resource_type"] == BROKER_LOGGER
        else next(answered)
        for i, r in enumerate(resources))
    return codec.build(m.IncrementalAlterConfigsResponse, throttle_time=timedelta(0), responses=responses)


def _malformed(resources: list[dict]) -> dict[int, str]:
    """Kafka's checks of a request's shape before anything changes (ConfigAdminManager.preprocess):
    {index of a refused resource: why}."""
    refused: dict[int, str] = {}
    first: dict[tuple[int, str], int] = {}
    for i, r in enumerate(resources):
        key = (r["resource_type"], r["resource_name"])
        if key in first:
            refused[first[key]] = refused[i] = "Each resource must appear at most once."
        first.setdefault(key, i)
    for i, r in enumerate(resources):
        if i in refused:
            continue
        names = [c["name"] for c in r["configs"]]
        if len(set(names)) != len(names):
            refused[i] = "Error due to duplicate config keys"
            continue
        nulls = [c["name"] for c in r["configs"] if c["op"] != _DELETE and c["value"] is None]
        if nulls:
            refused[i] = "Null value not supported for : " + ", ".join(nulls)
    return refused


def _refusal(m, resource: dict, message: str):
    return codec.build(m.AlterConfigsResourceResponse, error_code=ErrorCode.invalid_request, error_message=message,
                       resource_type=resource["resource_type"], resource_name=resource["resource_name"])


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
