"""The WebSocket mode of ``/v1/responses``, as the Open Responses specification describes it.

Each ``response.create`` message is one turn; its events are the same objects as on SSE, one JSON text
message each. Turns run one at a time, in order. The most recent response is kept in connection-local
memory, so a ``store: false`` chain continues on the same socket; a failed continuation evicts the
response it continued from. Failures are ``{"type": "error", "status", "error": {...}}`` messages and the
connection keeps serving; after 60 minutes it ends with ``websocket_connection_limit_reached``.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect

from .conversation import StoredResponse
from .decode import decode_request
from .dispatch import timeout_after
from .errors import GatewayError, InvalidRequestError
from .health import monotonic
from .responder import Responder, log_failure
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
    """ASGI endpoint of the WebSocket mode."""

    def __init__(self, responder: Responder, limit: float) -> None:
        self.responder = responder
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        socket = WebSocket(scope, receive, send)
        await socket.accept()
        local: dict[str, StoredResponse] = {}
        opened = monotonic()
        try:
            while True:
                remaining = self.limit - (monotonic() - opened)
                try:
                    if remaining <= 0:
                        raise TimeoutError
                    async with timeout_after(remaining):
                        message = await socket.receive()
                except TimeoutError:
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
        except WebSocketDisconnect:
            return

    async def _turn(self, socket: WebSocket, text: str, local: dict[str, StoredResponse]) -> None:
        responder = self.responder
        previous_id: str | None = None
        try:
            request = _parse(text)
            previous_id = request.previous_response_id
            route = await responder.prepare(request, local)
            responder.dispatcher.admit()
        except GatewayError as error:
            _evict(local, previous_id)
            await _send_error(socket, error)
            return
        try:
            try:
                run = await responder.open(request, route, "json")
            except GatewayError as error:
                log_failure(error)
                _evict(local, previous_id)
                await _send_error(socket, error)
                return

            async def write(builder: ResponseBuilder) -> None:
                for event in builder.take_events():
                    await socket.send_text(event.decode())

            await write(run.builder)
            record = await responder.drive(run, write)
            if record.response.status == "failed":
                _evict(local, previous_id)
            else:
                local.clear()
                local[record.response.id] = record
        finally:
            responder.dispatcher.release()


def _parse(text: str) -> Any:
    """A ``response.create`` message as a normalised request (streaming, internally)."""
    try:
        data = _decode_json(text)
    except msgspec.DecodeError:
        raise InvalidRequestError("the message is not valid JSON", code="invalid_json") from None
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
