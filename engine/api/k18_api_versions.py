"""ApiVersions (key 18), versions 0–4 (v4, as Kafka 4, may list features with min version 0; the
engine lists none).

Answers with the registry's ranges. A request above our maximum gets a v0 body with
UNSUPPORTED_VERSION and the full key list (the connection layer sends that one, since it
cannot decode the request); the client then retries with a version both sides know.
The response always uses response header v0 (handled in framing).
"""

from __future__ import annotations

import struct
from datetime import timedelta

from partita.engine.api.registry import REGISTRY, api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


def _ranges():
    return sorted((h.key, h.min_version, h.max_version) for h in REGISTRY.values())


def unsupported_version_body() -> bytes:
    """ApiVersions v0 body: error_code int16, [api_key int16, min int16, max int16]."""
    ranges = _ranges()
    parts = [struct.pack(">hi", int(ErrorCode.unsupported_version), len(ranges))]
    parts += [struct.pack(">hhh", *r) for r in ranges]
    return b"".join(parts)


@api(18, 0, 4)
async def handle_api_versions(request, ctx):
    m = codec.response_module(18, ctx.api_version)
    keys = tuple(m.ApiVersion(api_key=k, min_version=lo, max_version=hi) for k, lo, hi in _ranges())
    fields = {"error_code": ErrorCode.none, "api_keys": keys}
    if ctx.api_version >= 1:
        fields["throttle_time"] = timedelta(0)
    if ctx.api_version >= 3:
        return m.ApiVersionsResponse(
            **fields,
            supported_features=(),
            finalized_features_epoch=-1,
            finalized_features=(),
            zk_migration_ready=False,
        )
    return m.ApiVersionsResponse(**fields)
