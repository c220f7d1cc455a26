"""Stored responses over HTTP: ``GET`` and ``DELETE /v1/responses/{id}``, ``GET .../input_items``.

Shapes are those of OpenAI's API, as the official ``openai`` SDK's ``responses.retrieve``,
``responses.delete`` and ``responses.input_items.list`` read them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .conversation import Conversations
from .errors import GatewayError, InvalidRequestError, NotFoundError
from .types import encoder

_JSON = "application/json"


class _ItemId(msgspec.Struct):
    """Just the id of an encoded item (for ``after``)."""

    id: str | None = None


_decode_item_id = msgspec.json.Decoder(_ItemId).decode
_decode_item = msgspec.json.Decoder(dict[str, Any]).decode


def _item_id(item: msgspec.Raw) -> str | None:
    return _decode_item_id(item).id


class InputItemList(msgspec.Struct):
    """A page of a stored response's input items."""

    data: list[Any]
    first_id: str | None
    last_id: str | None
    has_more: bool
    object: str = "list"


class Deleted(msgspec.Struct):
    """The answer to a delete."""

    id: str
    object: str = "response"
    deleted: bool = True


def _not_found(response_id: str) -> NotFoundError:
    return NotFoundError(f"response '{response_id}' was not found (it was not stored, was deleted, or expired)",
                         code="response_not_found", param="response_id")


def _page_parameters(request: Request) -> tuple[int, bool, str | None]:
    query = request.query_params
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise InvalidRequestError("limit must be an integer from 1 to 100", code="invalid_value", param="limit")
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidRequestError("order must be 'asc' or 'desc'", code="invalid_value", param="order")
    return limit, order == "desc", query.get("after")


def stored_response_routes(
    conversations: Conversations,
    admit: Callable[[MutableMapping[str, Any], str], AbstractAsyncContextManager[Any]],
    error_response: Callable[[GatewayError], Response],
) -> list[BaseRoute]:
    """The routes for stored responses; every request is admitted by ``admit`` (the responder's)."""

    def admitted(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                async with admit(request.scope, "stored_responses"):
                    return await handler(request)
            except GatewayError as error:
                return error_response(error)

        return endpoint

    async def retrieve(request: Request) -> Response:
        response_id = request.path_params["response_id"]
        record = await conversations.load(response_id)
        if record is None:
            raise _not_found(response_id)
        return Response(encoder.encode(record.response), media_type=_JSON)

    async def delete(request: Request) -> Response:
        response_id = request.path_params["response_id"]
        if not await conversations.delete(response_id):
            raise _not_found(response_id)
        return Response(encoder.encode(Deleted(id=response_id)), media_type=_JSON)

    async def input_items(request: Request) -> Response:
        response_id = request.path_params["response_id"]
        limit, descending, after = _page_parameters(request)
        items = await conversations.load_input(response_id)
        if items is None:
            raise _not_found(response_id)
        if descending:
            items.reverse()
        if after is not None:
            position = next((index for index, item in enumerate(items) if _item_id(item) == after), None)
            if position is None:
                raise InvalidRequestError(f"item '{after}' is not an input item of this response",
                                          code="invalid_value", param="after")
            items = items[position + 1:]
        page = [_decode_item(item) for item in items[:limit]]
        for item in page:
            item.setdefault("status", "completed")
        body = InputItemList(data=page, first_id=page[0]["id"] if page else None,
                             last_id=page[-1]["id"] if page else None, has_more=len(items) > limit)
        return Response(encoder.encode(body), media_type=_JSON)

    return [
        Route("/v1/responses/{response_id}", admitted(retrieve), methods=["GET"]),
        Route("/v1/responses/{response_id}", admitted(delete), methods=["DELETE"]),
        Route("/v1/responses/{response_id}/input_items", admitted(input_items), methods=["GET"]),
    ]
