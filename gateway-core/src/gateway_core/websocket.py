"""The WebSocket mode of ``/v1/responses``, as the Open Responses specification describes it.

Each ``response.create`` message is one turn; its events are the same objects as on SSE, one JSON text
message each. Turns run one at a time, in order. The most recent response is kept in connection-local
memory, so a ``store: false`` chain continues on the same socket; a failed continuation evicts the
response it continued from. Failures are ``{"type": "error", "status", "error": {...}}`` messages and the
connection keeps serving; after ``server.websocket_max_seconds`` (60 minutes) it ends with
``websocket_connection_limit_reached``. Each turn is admitted by the responder with the upgrade's scope.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect

from .config import ServerSettings
from .conversation import StoredResponse
from .deadlines import deadline
from .decode import decode_request
from .errors import GatewayError, InvalidRequestError
from .health import monotonic
from .responder import ClientGone, Responder, log_failure
from .stream import ResponseBuilder
from .types import ErrorBody, encoder

logger = logging.getLogger("gateway")

_TRANSPORT_FIELDS = ("stream", "stream_options", "background")
_decode_json = msgspec.json.Decoder().decode


class WebSocketError(msgspec.Struct, tag="error", tag_field="type"):
    """A failure on the socket (``WebSocketErrorEvent``)."""

    status: int
    error: ErrorBody


class ResponsesWebSocket:
    """ASGI endpoint of the WebSocket mode. At most ``server.max_websockets`` connections are open at once
    (more are refused before they are accepted, which the server answers 403); one that sends nothing for
    ``server.websocket_idle_seconds`` is closed (1001)."""

    def __init__(self, responder: Responder, settings: ServerSettings) -> None:
        self.responder = responder
        self.limit = settings.websocket_max_seconds
        self.idle = settings.websocket_idle_seconds
        self.max_open = settings.max_websockets
        self.open = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.open >= self.max_open:
            logger.warning("WebSocket upgrade refused: %d connections are open (server.max_websockets)", self.open)
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1013})
            return
        self.open += 1
        try:
            await self._serve(WebSocket(scope, receive, send))
        except (WebSocketDisconnect, ClientGone):
            return
        finally:
            self.open -= 1

    async def _serve(self, socket: WebSocket) -> None:
        await socket.accept()
        local: dict[str, StoredResponse] = {}
        opened = monotonic()
        while True:
            remaining = self.limit - (monotonic() - opened)
            try:
                if remaining <= 0:
                    raise TimeoutError
                with deadline(min(remaining, self.idle)):
                    message = await socket.receive()
            except TimeoutError:
                if self.idle < remaining:  # the idle bound was the nearer one (timers may fire a little early)
                    await socket.close(code=1001, reason="idle for too long")
                    return
                await _send_error(socket, GatewayError(
                    "this WebSocket connection reached its time limit; open a new one",
                    code="websocket_connection_limit_reached", status=400))
                await socket.close(code=1000)
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode(errors="replace")
            await self._turn(socket, text, local)

    async def _turn(self, socket: WebSocket, text: str, local: dict[str, StoredResponse]) -> None:
        responder = self.responder
        previous_id: str | None = None
        try:
            async with responder.admit(socket.scope):
                request = _parse(text)
                previous_id = request.previous_response_id
                route = await responder.prepare(request, local)
                try:
                    async with responder.stream(request, route, "json") as run:
                        await _write(socket, run.builder)
                        record = await responder.drive(run, partial(_write, socket))
                except GatewayError as error:
                    log_failure(error)
                    raise
        except ClientGone:
            logger.info("WebSocket client left mid-response")
            raise
        except GatewayError as error:
            _evict(local, previous_id)
            await _send_error(socket, error)
            return
        if record.response.status == "failed":
            _evict(local, previous_id)
        else:
            local.clear()
            local[record.response.id] = record


async def _write(socket: WebSocket, builder: ResponseBuilder) -> None:
    """Send the builder's new events; :class:`ClientGone` when the client has left."""
    try:
        for event in builder.take_events():
            await socket.send_text(event.decode())
    except (WebSocketDisconnect, OSError, RuntimeError):
        raise ClientGone from None


def _parse(text: str) -> Any:
    """A ``response.create`` message as a normalised request (streaming, internally)."""
    try:
        data = _decode_json(text)
    except (msgspec.DecodeError, RecursionError):
        raise InvalidRequestError("the message is not valid JSON (or is nested too deeply)",
                                  code="invalid_json") from None
    if not isinstance(data, dict) or data.get("type") != "response.create":
        raise InvalidRequestError("send 'response.create' messages", code="invalid_event_type", param="type")
    for name in _TRANSPORT_FIELDS:
        if name in data:
            raise InvalidRequestError(f"'{name}' is an HTTP field and must not be sent on a WebSocket",
                                      code="unsupported_parameter", param=name)
    del data["type"]
    request = decode_request(encoder.encode(data))
    request.stream = True
    return request


def _evict(local: dict[str, StoredResponse], response_id: str | None) -> None:
    if response_id is not None:
        local.pop(response_id, None)


async def _send_error(socket: WebSocket, error: GatewayError) -> None:
    await socket.send_text(encoder.encode(WebSocketError(status=error.status, error=error.body())).decode())
