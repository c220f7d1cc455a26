"""The hook specifications: the whole contract between the gateway core and a provider plugin.

A provider plugin is a module of functions marked with ``gateway_core.hookimpl`` and named after the hooks
below, registered through the ``gateway_provider`` entry-point group::

    [project.entry-points.gateway_provider]
    acme = "gateway_acme.plugin"

The entry name (``acme``) is the provider *kind* written as ``type:`` in the config. Each configured
instance of a kind gets its own client from ``gateway_create_client``; the core binds the plugin's functions
to the instance once at startup and calls them directly on the request path (never ``pm.hook.*``).

Implementations may declare only the arguments they use (pluggy's rule); new arguments are only ever added.

``options``: the instance's ``options`` mapping, typed. A plugin declares its options as a msgspec Struct in
``ProviderInfo(options=AcmeOptions)``; the core converts each instance's ``settings.options`` into it once at
startup (a bad value stops startup and ``gateway check-config`` with ``FILE: key
'providers.<name>.options.<key>': problem``) and passes that object as ``options`` to every instance hook
that declares it. Defaults that depend on other instance settings go in the Struct's
``for_instance(settings)`` method, which the core calls once after converting (see
:func:`gateway_core.config.convert_options`). ``settings.options`` stays the raw mapping from the config file. Without
``ProviderInfo.options``, ``options`` is that raw mapping.
Required: ``gateway_create_client``, ``gateway_translate``, ``gateway_invoke``, ``gateway_stream``,
``gateway_map_error``. Optional: ``gateway_capabilities``, ``gateway_provider_info``, ``gateway_close_client``,
``gateway_compact``, ``gateway_count_tokens``, ``gateway_list_models``.
Since 0.1.0, all of them but ``gateway_count_tokens`` and ``gateway_list_models`` (added with the dialects).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from ..types import ResponseRequest
    from .deltas import Delta, DeltaStream
    from .errors import GatewayError
    from .provider import Capabilities, CompactedWindow, ProviderInfo
    from .settings import ProviderSettings

PROJECT = "gateway"
"""The pluggy project name of the hooks."""

ENTRY_POINT_GROUP = "gateway_provider"
"""The public entry-point group provider plugins register in."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marks a provider plugin's hook implementations: ``@hookimpl`` above a function named after a hook."""


@hookspec(firstresult=True)
def gateway_provider_info() -> ProviderInfo:
    """Describe the provider kind, independently of any configured instance.

    Return a :class:`gateway_core.ProviderInfo`: the environment variables that hold an API key
    (the first one set becomes a default instance's ``api_key``), the model-name prefixes this kind serves
    when a model is not routed explicitly (e.g. ``("claude-",)``), and a one-line description.
    Called once at startup. Optional: without it, the kind has no default key and no prefixes.
    """


@hookspec(firstresult=True)
def gateway_capabilities(settings: ProviderSettings, options: Any) -> Capabilities:
    """Say what one configured instance can do, as data (and check its ``options``).

    Return a :class:`gateway_core.Capabilities`. The core answers a request that needs a missing
    capability (tools, images, files, reasoning, structured output, streaming) with a 400 naming the
    parameter, and the conformance suite turns the matching tests into skips. Called once per instance at
    startup, before the server starts (after ``options`` were converted): raise ``ValueError`` for options
    that are unusable together and the gateway stops with a config error naming the instance. Optional: the
    default claims every capability (but ``compaction``).
    """


@hookspec(firstresult=True)
def gateway_create_client(settings: ProviderSettings, options: Any) -> Any:
    """Create the SDK client (and its connection pool) for one configured instance.

    Called once per instance at startup, inside the running event loop; the returned object is passed as
    ``client`` to every ``gateway_invoke``, ``gateway_stream`` and ``gateway_close_client`` call for that
    instance. Import the SDK here, not at module import, so the gateway starts fast. Use
    ``settings.api_key``, ``settings.base_url``, ``settings.timeout``, ``settings.connect_timeout``,
    ``settings.headers`` and ``options``; disable the SDK's own retries (``max_retries=0``): the
    core owns retries and fallbacks.
    """


@hookspec(firstresult=True)
async def gateway_close_client(client: Any) -> None:
    """Release one instance's client at shutdown: close its connection pool and any open streams.

    Called once per instance, after the server stopped accepting requests. Optional: without it the
    client is simply dropped.
    """


@hookspec(firstresult=True)
def gateway_translate(request: ResponseRequest, model: str, settings: ProviderSettings, options: Any) -> Any:
    """Translate a normalised Open Responses request into this provider's native request.

    ``request`` has ``input`` as a list of items whose message ``content`` is always a part list;
    ``model`` is the upstream model name the router chose (aliases and ``provider/`` prefixes removed).
    Return whatever ``gateway_invoke`` / ``gateway_stream`` take (typically the SDK call's keyword
    arguments). Must be pure: no I/O, no client, no clock, so it is tested with plain data tables.
    Raise :class:`gateway_core.InvalidRequestError` (with ``param``) for input the provider cannot
    take. Do not mutate ``request``.
    """


@hookspec(firstresult=True)
async def gateway_invoke(client: Any, native: Any, settings: ProviderSettings, options: Any) -> Sequence[Delta]:
    """Run ``native`` with the SDK, not streaming, and describe the answer as a list of deltas.

    Return :mod:`gateway_core.contract.deltas` in output order (whole texts as single ``TextDelta``s, each call as
    ``FunctionCallStart`` + one ``FunctionCallArgumentsDelta``, reasoning, ``UsageDelta``) ending with
    ``Finish``. The core assigns ids, builds items and the resource, and enforces ``allowed_tools``.
    Let SDK exceptions propagate: the core passes them to ``gateway_map_error``.
    """


@hookspec(firstresult=True)
async def gateway_stream(client: Any, native: Any, settings: ProviderSettings, options: Any) -> DeltaStream:
    """Open a streaming call and return a :class:`gateway_core.DeltaStream`: an async iterator of delta lists
    with ``aclose()``.

    A provider that streams SSE returns ``await SSEStream.open(body, close, parser)``
    (:class:`gateway_core.sse.SSEStream`) and writes only the :class:`~gateway_core.sse.StreamParser` of its
    format: the driver decides, the same for every provider, what errors, an EOF and priming do.

    The coroutine returns once the upstream stream has produced its first deltas: an exception raised by the
    await is a pre-stream error, which the core may retry or fall back on, and answers as plain JSON. The
    iterator then yields one list of deltas per upstream chunk as it arrives and must end with a ``Finish``
    delta; ending without one is reported to the client as an interrupted stream. Exceptions while iterating
    become an ``error`` event and ``response.failed``. When the client disconnects, the core closes the
    iterator (``aclose()``): close the SDK stream there so the upstream stops generating.
    """


@hookspec(firstresult=True)
async def gateway_compact(
    client: Any, request: ResponseRequest, model: str, settings: ProviderSettings, options: Any
) -> CompactedWindow | None:
    """Compact a conversation with the provider's own compaction, if it has one. Optional.

    ``request`` holds the expanded conversation (``request.items``) and ``instructions``. Return a
    :class:`gateway_core.CompactedWindow` (the compacted items: kept messages and the provider's
    own ``compaction`` items, plus usage), or ``None`` to let the gateway compact by summarising with the
    model. A provider that returns compaction items must also accept them back in ``gateway_translate`` and
    say so with ``Capabilities(compaction=True)``; the gateway sends them only to that provider.
    """


@hookspec(firstresult=True)
async def gateway_count_tokens(client: Any, native: Any, settings: ProviderSettings, options: Any) -> int:
    """Count the input tokens of ``native`` (what ``gateway_translate`` returned) with the provider's own
    counting endpoint, through its SDK. Optional.

    Serves ``POST /v1/messages/count_tokens``. Return the real count; never estimate here. Let SDK exceptions
    propagate (they go through ``gateway_map_error``). Without this hook the gateway answers that endpoint
    with an error for this provider instead of a made-up number.
    """


@hookspec(firstresult=True)
async def gateway_list_models(client: Any, settings: ProviderSettings, options: Any) -> list[str]:
    """The model ids the upstream serves, through its SDK's model listing. Optional.

    Called in the background at startup and every few minutes (never on the request path); ``GET
    /v1/models`` lists them as ``<instance>/<id>``. Let SDK exceptions propagate: the previous list is kept.
    """


@hookspec(firstresult=True)
def gateway_map_error(error: BaseException, settings: ProviderSettings, options: Any) -> GatewayError | None:
    """Map an exception raised by this provider's SDK to a :class:`gateway_core.GatewayError`.

    This is the provider's one error boundary: map your own SDK's exception classes, and leave the rest to
    the shared helpers of the contract (importable from :mod:`gateway_core`): ``error_for_status`` (HTTP
    status -> error), ``status_of_error_type`` (an in-band error's type or code -> status),
    ``retry_after_from_headers``, ``transport_error`` (httpx, httpx2, aiohttp, asyncio timeouts and connection
    failures, by class) and ``context_length_exceeded`` (for the provider's own way of saying so). A
    ``GatewayError`` the plugin raised itself never reaches this hook: the core passes it through. Return
    ``None`` for exceptions you do not recognise: the core answers those with a generic ``server_error`` and
    logs them. Never put the API key in a message; the core also redacts the instance's key from every
    message as a second line of defence.
    """
