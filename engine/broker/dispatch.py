"""Turns one request frame into one response frame: header, version check, handler, encoding.

Unknown API keys and unsupported versions close the connection, as Kafka does — except
ApiVersions, which answers an unknown version with a v0 body carrying UNSUPPORTED_VERSION.
"""

from __future__ import annotations

import logging

from partita.engine.api import load_handlers
from partita.engine.api.k18_api_versions import unsupported_version_body
from partita.engine.api.registry import RawRequest
from partita.engine.broker.context import RequestContext
from partita.engine.cluster.metadata import PLAINTEXT
from partita.engine.protocol import codec
from partita.engine.protocol.framing import (
    API_VERSIONS_KEY,
    MalformedRequest,
    frame_response,
    parse_request_header,
    peek_key_version,
)
from partita.engine.protocol.request_bounds import check_request_body

log = logging.getLogger(__name__)
ANONYMOUS = "User:ANONYMOUS"


class Dispatcher:
    def __init__(self, broker, listener: str = PLAINTEXT):
        self.broker = broker
        self.listener = listener
        self.handlers = load_handlers()
        self.hooks = broker.hooks

    async def dispatch(self, frame: memoryview, peer: str, principal: str = ANONYMOUS) -> bytes | None:
        api_key, api_version, correlation_id = peek_key_version(frame)
        handler = self.handlers.get(api_key)
        if handler is None:
            raise MalformedRequest(f"unknown API key {api_key}")
        if not handler.min_version <= api_version <= handler.max_version and api_key == API_VERSIONS_KEY:
            return frame_response(correlation_id, unsupported_version_body(), False)
        header, request = self.decode(frame, api_key, api_version, handler)
        ctx = RequestContext(self.broker, api_key, api_version, correlation_id, header.client_id, peer,
                             self.listener, principal)
        if self.hooks.active:
            await self.hooks.before(ctx)
        response = await handler.handle(request, ctx)
        if response is None:
            return None
        body = response if isinstance(response, bytes | bytearray | list) else codec.encode(response)
        return frame_response(correlation_id, body, self._flexible_response(api_key, api_version))

    def decode(self, frame: memoryview, api_key: int, api_version: int, handler=None):
        """(header, request) of a request frame the registry serves (a RawRequest for an API without a
        schema); MalformedRequest for an unknown key, an unserved version or a body that is not one."""
        if handler is None:
            handler = self.handlers.get(api_key)
            if handler is None:
                raise MalformedRequest(f"unknown API key {api_key}")
        if not handler.min_version <= api_version <= handler.max_version:
            raise MalformedRequest(
                f"{handler.name} v{api_version} is not supported "
                f"(versions {handler.min_version}–{handler.max_version})"
            )
        schema = codec.request_schema(api_key, api_version)
        header = parse_request_header(frame, schema is not None and codec.request_is_flexible(api_key, api_version))
        if schema is None:
            return header, RawRequest(api_version, frame[header.body_offset :])
        check_request_body(schema, frame, header.body_offset)
        try:
            return header, codec.decode_request(api_key, api_version, frame, header.body_offset)
        except Exception as exc:
            raise MalformedRequest(f"cannot decode {handler.name} v{api_version}: {exc}") from exc

    @staticmethod
    def _flexible_response(api_key: int, api_version: int) -> bool:
        return api_key != API_VERSIONS_KEY and codec.response_is_flexible(api_key, api_version)
