"""``GET /v1/models`` and ``GET /v1/models/{id}``: what a client can ask for.

The list holds the aliases (model groups included), each instance's configured models (``providers.<name>.models``)
and each instance's upstream model list, fetched through its SDK (the optional ``gateway_list_models`` hook)
by a background task at startup and every :data:`REFRESH_SECONDS` after; a request only reads the cached
list, never waits for an upstream. A failed refresh keeps the previous list (and is logged).

The shape is OpenAI's (``{"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}``)
by default and Anthropic's (``{"data": [{"type": "model", "id", "display_name", "created_at"}], "has_more",
"first_id", "last_id"}``) when the request carries ``anthropic-version``, as Anthropic's SDK and Claude Code
send it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .dialects.messages import MESSAGES
from .errors import NotFoundError
from .gateway import Gateway
from .types import ModelCard, ModelList, encoder

logger = logging.getLogger("gateway")

REFRESH_SECONDS = 600.0
"""How often the upstream model lists are fetched again."""

_EPOCH = "1970-01-01T00:00:00Z"


class ModelCatalog:
    """The cached model cards; :meth:`run` keeps the upstream part fresh."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        config = gateway.config
        static = [ModelCard(id=alias, owned_by="alias") for alias in config.aliases]
        for instance in gateway.instances.values():
            static.extend(ModelCard(id=f"{instance.name}/{model}", owned_by=instance.name)
                          for model in instance.settings.models)
        self._static = static
        self._upstream: dict[str, list[ModelCard]] = {}
        self.cards = list(static)

    async def refresh(self) -> None:
        """Fetch every listing instance's upstream models (one failure does not stop the others)."""
        for instance in self.gateway.instances.values():
            if not instance.lists_models:
                continue
            try:
                models = await instance.list_models()
            except Exception as exc:
                mapped = instance.map_error(exc)
                logger.warning("listing the models of provider %r failed: %s", instance.name, mapped.message)
                continue
            self._upstream[instance.name] = [ModelCard(id=f"{instance.name}/{model}", owned_by=instance.name)
                                             for model in models]
        known = {card.id for card in self._static}
        upstream = [card for cards in self._upstream.values() for card in cards if card.id not in known]
        self.cards = self._static + upstream

    async def run(self) -> None:
        """Refresh now and every :data:`REFRESH_SECONDS` (a background task, cancelled at shutdown)."""
        while True:
            await self.refresh()
            await asyncio.sleep(REFRESH_SECONDS)

    def find(self, model_id: str) -> ModelCard | None:
        """The card of ``model_id``."""
        return next((card for card in self.cards if card.id == model_id), None)


def _anthropic_card(card: ModelCard) -> dict[str, str]:
    return {"type": "model", "id": card.id, "display_name": card.id, "created_at": _EPOCH, "lifecycle": "active"}


def _not_found(model_id: str, anthropic: bool) -> Response:
    error = NotFoundError(f"the model '{model_id}' is not served here", code="model_not_found", param="model")
    status, body = MESSAGES.error(error) if anthropic else (error.status, error.to_json())
    return Response(body, status_code=status, media_type="application/json")


def model_routes(catalog: ModelCatalog) -> list[Route]:
    """``GET /v1/models`` and ``GET /v1/models/{id}`` (ids may hold a ``/``)."""

    async def models(request: Request) -> Response:
        cards = catalog.cards
        if "anthropic-version" in request.headers:
            data = [_anthropic_card(card) for card in cards]
            body = {"data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
                    "last_id": data[-1]["id"] if data else None}
            return Response(encoder.encode(body), media_type="application/json")
        return Response(encoder.encode(ModelList(data=cards)), media_type="application/json")

    async def model(request: Request) -> Response:
        model_id = request.path_params["model_id"]
        anthropic = "anthropic-version" in request.headers
        card = catalog.find(model_id)
        if card is None:
            return _not_found(model_id, anthropic)
        body = _anthropic_card(card) if anthropic else card
        return Response(encoder.encode(body), media_type="application/json")

    return [Route("/v1/models", models, methods=["GET"]),
            Route("/v1/models/{model_id:path}", model, methods=["GET"])]


@contextlib.asynccontextmanager
async def refreshing(catalog: ModelCatalog) -> AsyncIterator[None]:
    """Run :meth:`ModelCatalog.run` in the background for the duration of the block."""
    task = asyncio.ensure_future(catalog.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
