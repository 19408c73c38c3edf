"""What AlterConfigs (33) and IncrementalAlterConfigs (44) share: the controller call that
changes topic and broker configs, and the per-resource results both responses carry."""

from __future__ import annotations

from partita.engine.api.common import controller_call
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


async def change_configs(ctx, m, resources: list[dict], validate_only: bool) -> tuple:
    """The controller's answer for each resource, as `m.AlterConfigsResourceResponse` entities
    (`m` is the response module of the API and version being answered)."""
    results = await controller_call(ctx, "IncrementalAlterConfigs", resources=resources,
                                    validate_only=validate_only)
    return tuple(
        codec.build(m.AlterConfigsResourceResponse, error_code=ErrorCode(r["error_code"]),
                    error_message=r.get("error_message"), resource_type=r["resource_type"],
                    resource_name=r["resource_name"])
        for r in results
    )
