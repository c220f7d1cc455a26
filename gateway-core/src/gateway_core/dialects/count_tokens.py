"""``POST /v1/messages/count_tokens``: a real count, by the provider's own counting endpoint.

The body is a Messages request (``max_tokens`` not needed). It is routed like ``POST /v1/messages`` and
counted by the first target whose plugin implements ``gateway_count_tokens`` (Anthropic's
``messages.count_tokens``, Gemini's ``countTokens``). When no target can count (OpenAI, the mock) the answer
is a 501 error in Anthropic's shape: never a made-up number, which would break a client's context bookkeeping
(Claude Code's auto-compaction).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..body import BodyReader, ClientDisconnected, content_type_of
from ..errors import GatewayError
from ..responder import Responder, log_failure
from ..routing import Route as Routed
from ..types import ResponseRequest
from .messages import MESSAGES, decode_messages

_JSON = "application/json"


def _error(error: GatewayError) -> Response:
    status, body = MESSAGES.error(error)
    return Response(body, status_code=status, media_type=_JSON)


def count_tokens_route(responder: Responder, reader: BodyReader) -> Route:
    """The route of ``POST /v1/messages/count_tokens`` (admitted by the responder, its body read by
    ``reader``)."""

    async def count_tokens(request: Request) -> Response:
        scope = request.scope
        try:
            async with responder.admit(scope, "count_tokens"):
                body = await reader.read(content_type_of(scope["headers"]), request.receive)
                core, _ = decode_messages(body, dict(scope["headers"]))
                route = await responder.prepare(core)
                counted = await _count(core, route)
        except ClientDisconnected:
            return Response(status_code=400)  # nobody is listening
        except GatewayError as error:
            return _error(error)
        return Response(b'{"input_tokens":%d}' % counted, media_type=_JSON)

    return Route("/v1/messages/count_tokens", count_tokens, methods=["POST"])


async def _count(core: ResponseRequest, route: Routed) -> int:
    """The count of the first target whose plugin counts tokens. Raises ``GatewayError`` (501 when none
    can)."""
    target = next((target for target in route.targets if target.instance.counts_tokens), None)
    if target is None:
        names = ", ".join(sorted({target.instance.name for target in route.targets}))
        raise GatewayError(f"provider {names} cannot count tokens; no count is made up",
                           code="count_tokens_unsupported", status=501)
    instance = target.instance
    try:
        return await instance.count_tokens(instance.translate(core, target.model))
    except GatewayError:
        raise
    except Exception as exc:
        mapped = instance.map_error(exc)
        log_failure(mapped, exc)
        raise mapped from None
