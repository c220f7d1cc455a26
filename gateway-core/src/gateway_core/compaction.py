"""``POST /v1/responses/compact``, for every provider.

A provider with its own compaction (``gateway_compact``, e.g. OpenAI's Responses API) compacts natively;
its compaction items go back only to that provider. For the others the gateway compacts itself: it asks
the conversation's own model for a faithful summary of the earlier turns and returns the compacted window:
the user messages verbatim, then one ``compaction`` item whose ``encrypted_content`` is the summary sealed
by the gateway (Fernet: AES-CBC + HMAC-SHA256, from ``cryptography``, keyed by ``compaction.key``). A sealed
item is bound to the provider instance that summarised and to an expiry (``compaction.ttl_seconds``). When
that item comes back in a later request to a route of that instance, the gateway opens it and gives the
model the summary as a *user* message: the summary is made of what the conversation's participants said, so
it never gains the authority of developer or system instructions. A tampered, expired or foreign gateway
item answers 400 naming its input index, and so does a provider's item sent to a provider that cannot read
it. Several workers or instances must share ``compaction.key`` (startup refuses ``server.workers > 1``
without one).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import time
from collections.abc import Callable, Collection
from typing import Any

import msgspec
from msgspec import Struct
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .body import BodyReader, ClientDisconnected, content_type_of, read_request
from .contract.errors import GatewayError, InvalidRequestError, ModelError
from .ids import new_id
from .types import (
    Compaction,
    InputItem,
    InputText,
    Message,
    OutputMessage,
    OutputText,
    ResponseRequest,
    Usage,
    encoder,
)

logger = logging.getLogger("gateway")

PREFIX = "gwc1."
SUMMARY_REQUEST = (
    "Summarise the conversation so far for your own later use. Keep every fact, decision, number, name, "
    "tool call and tool result, open question and user preference that could matter later; drop "
    "pleasantries. Write only the summary."
)
SUMMARY_HEADER = "Summary of the earlier conversation (compacted by the gateway):\n"
_decode_json = msgspec.json.Decoder().decode


class Sealer:
    """Seals and opens compaction summaries with authenticated encryption."""

    def __init__(self, secret: str | None, ttl_seconds: float = 30 * 86400.0) -> None:
        self._secret = secret
        self._ttl = ttl_seconds
        self._cipher: Any = None

    def _fernet(self) -> Any:
        if self._cipher is None:
            from cryptography.fernet import Fernet

            secret = self._secret
            if not secret:
                logger.warning("compaction.key is not set: compaction items will not survive a restart")
                secret = base64.b64encode(os.urandom(32)).decode()
            self._cipher = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))
        return self._cipher

    def seal(self, summary: str, model: str, instance: str) -> str:
        """The ``encrypted_content`` for a summary made by provider ``instance``, valid for ``ttl_seconds``."""
        now = time.time()
        payload = encoder.encode({"v": 2, "summary": summary, "model": model, "instance": instance,
                                  "at": int(now), "exp": now + self._ttl})
        return PREFIX + self._fernet().encrypt(payload).decode()

    def open(self, blob: str, param: str, instances: Collection[str]) -> str:
        """The summary inside a gateway ``blob`` sent to a route over ``instances``; 400 (naming ``param``)
        when it was tampered with, has expired, or was sealed for another provider instance."""
        from cryptography.fernet import InvalidToken

        try:
            data = _decode_json(self._fernet().decrypt(blob[len(PREFIX):].encode()))
            summary, instance, expires = str(data["summary"]), str(data["instance"]), float(data["exp"])
        except (InvalidToken, msgspec.DecodeError, ValueError, KeyError, TypeError):
            raise InvalidRequestError("this compaction item is corrupt, was tampered with, or was sealed with "
                                      "another key", code="invalid_compaction", param=param) from None
        if expires <= time.time():
            raise InvalidRequestError("this compaction item has expired; compact the conversation again",
                                      code="invalid_compaction", param=param)
        if instance not in instances:
            raise InvalidRequestError(f"this compaction item was sealed for provider '{instance}' and can only "
                                      "be used with it", code="invalid_compaction", param=param)
        return summary


def open_compactions(request: ResponseRequest, sealer: Sealer, instances: Collection[str]) -> None:
    """Replace every gateway compaction item of the input by a user message carrying its summary (a
    provider's own compaction items stay, for that provider). ``instances``: those the request may go to."""
    items: list[InputItem] = []
    for index, item in enumerate(request.items):
        if type(item) is Compaction and item.encrypted_content.startswith(PREFIX):
            summary = sealer.open(item.encrypted_content, f"input[{index}].encrypted_content", instances)
            items.append(Message(role="user", content=[InputText(SUMMARY_HEADER + summary)]))
        else:
            items.append(item)
    request.input = items


class CompactResource(Struct):
    """The answer of ``/v1/responses/compact``."""

    id: str
    created_at: int
    output: list[Message | Compaction]
    usage: Usage
    object: str = "response.compaction"


def compact_route(responder: Any, reader: BodyReader, error_response: Callable[[GatewayError], Response]) -> BaseRoute:
    """The ``POST /v1/responses/compact`` route (admitted by the responder, its body read by ``reader``)."""

    async def compact(request: Request) -> Response:
        try:
            async with responder.admit(request.scope, "compact"):
                body = await read_request(reader, content_type_of(request.scope["headers"]), request.receive,
                                          responder.max_input_items)
                result = await compact_conversation(responder, body)
        except ClientDisconnected:
            return Response(status_code=400)  # nobody is listening
        except GatewayError as error:
            return error_response(error)
        return Response(encoder.encode(result), media_type="application/json")

    return Route("/v1/responses/compact", compact, methods=["POST"])


async def compact_conversation(responder: Any, request: ResponseRequest) -> CompactResource:
    """Summarise the (expanded) conversation with its own model and seal the summary."""
    request.stream, request.store, request.tools, request.tool_choice = False, False, None, None
    request.text = request.reasoning = None
    route = await responder.prepare(request)
    target = route.targets[0]
    try:
        native = await target.instance.compact(request, target.model)
    except Exception as exc:
        raise target.instance.map_error(exc) from None
    if native is not None:
        return CompactResource(id=new_id("resp"), created_at=int(time.time()), output=native.items,
                               usage=native.usage)
    conversation = list(request.items)
    request.input = [*conversation, Message(role="user", content=[InputText(SUMMARY_REQUEST)])]
    record, attempt = await responder.respond(request, route)
    resource = record.response
    if resource.status != "completed":
        reason = resource.error.message if resource.error else resource.status
        raise ModelError(f"the model could not summarise the conversation: {reason}", code="compaction_failed")
    summary = "".join(part.text for item in resource.output if type(item) is OutputMessage
                      for part in item.content if type(part) is OutputText)
    kept: list[Message | Compaction] = []
    for item in conversation:
        if type(item) is Message and item.role == "user":
            kept.append(Message(role="user", content=item.content, id=item.id or new_id("msg"), status="completed"))
    sealed = responder.sealer.seal(summary, resource.model, attempt.target.instance.name)
    kept.append(Compaction(encrypted_content=sealed, id=new_id("cmp")))
    return CompactResource(id=new_id("resp"), created_at=int(time.time()), output=kept,
                           usage=resource.usage or Usage())

