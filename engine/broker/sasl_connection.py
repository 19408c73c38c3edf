"""A connection on the SASL_PLAINTEXT listener: authentication first, then requests as on PLAINTEXT.

The states follow Kafka's SaslServerAuthenticator. Before the handshake only ApiVersions and
SaslHandshake (17, v0–1) are served; any other request closes the connection with a log line
("Unexpected Kafka request of type ... during SASL handshake"), as Kafka does. A mechanism not in
`sasl.enabled.mechanisms` is answered UNSUPPORTED_SASL_MECHANISM with the enabled list, then the
connection closes. After a v1 handshake the tokens come in SaslAuthenticate requests (36, v0–2);
after a v0 handshake as bare size-prefixed tokens (Kafka 4.1 still accepts v0, so does the
engine; a failure then closes without an answer, as in Kafka). A refused login is answered
SASL_AUTHENTICATION_FAILED `connection.failed.authentication.delay.ms` (100 ms) later and the
connection closed, as Kafka delays its answer and close. Once authenticated, the connection serves
requests exactly as a PLAINTEXT one, with the principal (User:<name>) in each request's context;
SaslAuthenticate answers session_lifetime_ms 0: no re-authentication (KIP-368 is not implemented).

The PLAINTEXT listener never sees any of this: it uses KafkaConnection itself.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from datetime import timedelta

from partita.engine.broker.connection import KafkaConnection
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode
from partita.engine.protocol.framing import (
    API_VERSIONS_KEY,
    MalformedRequest,
    frame_response,
    peek_key_version,
)
from partita.engine.security.sasl_mechanisms import (
    MECHANISMS,
    AuthenticationFailed,
    client_message,
    server_for,
)

log = logging.getLogger(__name__)
SASL_PLAINTEXT = "SASL_PLAINTEXT"
SASL_HANDSHAKE_KEY, SASL_AUTHENTICATE_KEY = 17, 36
# Kafka's sasl.server.max.receive.size: the largest frame accepted before authentication
MAX_RECEIVE_BEFORE_AUTH = 524288


def enabled_mechanisms(broker) -> list[str]:
    """sasl.enabled.mechanisms, limited to the ones the engine has (PLAIN, SCRAM-SHA-256/512)."""
    value = broker.setting("sasl.enabled.mechanisms", ",".join(MECHANISMS))
    return [m.strip() for m in value.split(",") if m.strip() in MECHANISMS]


class _AsPrincipal:
    """The listener's dispatcher, answering for one authenticated principal."""

    __slots__ = ("dispatcher", "principal")

    def __init__(self, dispatcher, principal: str):
        self.dispatcher, self.principal = dispatcher, principal

    def dispatch(self, frame, peer):
        return self.dispatcher.dispatch(frame, peer, self.principal)


class SaslConnection(KafkaConnection):
    def __init__(self, dispatcher, max_request_bytes: int, limits, broker):
        super().__init__(dispatcher, min(max_request_bytes, MAX_RECEIVE_BEFORE_AUTH), limits)
        self._max_after_auth = max_request_bytes
        self.broker = broker

    async def _serve(self) -> None:
        try:
            principal = await self._authenticate()
        except asyncio.CancelledError:
            return
        except MalformedRequest as exc:
            log.warning("closing connection from %s on %s: %s", self.peer, SASL_PLAINTEXT, exc)
            self._close()
            return
        except Exception:
            log.exception("SASL authentication of %s failed unexpectedly; closing the connection", self.peer)
            self._close()
            return
        if principal is None:
            return  # refused, and closed
        self.max_request_bytes = self._max_after_auth
        self.dispatcher = _AsPrincipal(self.dispatcher, principal)
        await super()._serve()

    async def _next_frame(self) -> memoryview:
        frames = self.frames
        while not frames:
            await self._frames_queued()
        return memoryview(frames.popleft())

    async def _authenticate(self) -> str | None:
        """Serve the SASL exchange; the principal once authenticated, None once refused (closed)."""
        server = None  # the mechanism's server, after a successful handshake
        framed = True  # tokens in SaslAuthenticate requests (handshake v1) or bare (v0)
        while True:
            frame = await self._next_frame()
            if server is not None and not framed:
                try:
                    token = server.evaluate(bytes(frame))
                except AuthenticationFailed as exc:
                    await self._refuse(f"{server.mechanism}: {exc}", None)
                    return None
                self.transport.write(struct.pack(">i", len(token)) + token)
            else:
                api_key, api_version, correlation_id = peek_key_version(frame)
                if server is None and api_key == API_VERSIONS_KEY:
                    self.transport.write(await self.dispatcher.dispatch(frame, self.peer))
                    continue
                expected = SASL_HANDSHAKE_KEY if server is None else SASL_AUTHENTICATE_KEY
                if api_key != expected:
                    handler = self.dispatcher.handlers.get(api_key)
                    name = handler.name.upper() if handler is not None else f"API key {api_key}"
                    during = "handshake" if server is None else "authentication"
                    await self._refuse(f"Unexpected Kafka request of type {name} during SASL {during}", None)
                    return None
                # the versions the handler registry serves, decoded as every request is
                request = self.dispatcher.decode(frame, api_key, api_version)[1]
                m = codec.response_module(api_key, api_version)
                respond_flexible = codec.response_is_flexible(api_key, api_version)
                if server is None:
                    enabled = enabled_mechanisms(self.broker)
                    if request.mechanism not in enabled:
                        response = m.SaslHandshakeResponse(error_code=ErrorCode.unsupported_sasl_mechanism,
                                                           mechanisms=tuple(enabled))
                        await self._refuse(f"Unsupported SASL mechanism {request.mechanism}",
                                           frame_response(correlation_id, codec.encode(response), respond_flexible))
                        return None
                    server = server_for(request.mechanism, self._credential)
                    framed = api_version >= 1
                    response = m.SaslHandshakeResponse(error_code=ErrorCode.none, mechanisms=tuple(enabled))
                    self.transport.write(frame_response(correlation_id, codec.encode(response), respond_flexible))
                    continue
                try:
                    token = server.evaluate(bytes(request.auth_bytes))
                except AuthenticationFailed as exc:
                    response = codec.build(m.SaslAuthenticateResponse, error_code=ErrorCode.sasl_authentication_failed,
                                           error_message=client_message(exc, server.mechanism), auth_bytes=b"",
                                           session_lifetime=timedelta(0))
                    await self._refuse(f"{server.mechanism}: {exc}",
                                       frame_response(correlation_id, codec.encode(response), respond_flexible))
                    return None
                response = codec.build(m.SaslAuthenticateResponse, error_code=ErrorCode.none, error_message=None,
                                       auth_bytes=token, session_lifetime=timedelta(0))
                self.transport.write(frame_response(correlation_id, codec.encode(response), respond_flexible))
            if server.complete:
                principal = f"User:{server.user}"
                log.debug("%s authenticated as %s with %s on %s", self.peer, principal, server.mechanism,
                          SASL_PLAINTEXT)
                return principal

    def _credential(self, user: str, mechanism: int):
        return self.broker.metadata.scram.get((user, mechanism))

    async def _refuse(self, reason: str, response: bytes | None) -> None:
        """Kafka's failed authentication: answer (if there is an answer) and close, both after
        connection.failed.authentication.delay.ms."""
        log.info("failed authentication with %s on %s (%s)", self.peer, SASL_PLAINTEXT, reason)
        delay_ms = int(self.broker.setting("connection.failed.authentication.delay.ms", "100"))
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        if response is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.write(response)
        self._close()
