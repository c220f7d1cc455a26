"""A configured provider instance with its plugin's hooks bound to it once, at startup.

The request path calls :class:`BoundProvider` methods, which call the plugin's functions directly: no
``pm.hook`` dispatch per request (that would run every plugin's ``async def`` and, with ``firstresult``,
return the first plugin's coroutine, i.e. silently the wrong provider).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pluggy import HookImpl

from .contract.deltas import Delta, DeltaStream
from .contract.errors import GatewayError
from .contract.provider import Capabilities, ProviderInfo
from .contract.settings import ProviderSettings
from .redact import Redactor
from .types import ResponseRequest


def bind(impl: HookImpl | None, fixed: dict[str, Any], dynamic: Sequence[str]) -> Callable[..., Any] | None:
    """A function taking the ``dynamic`` arguments positionally and calling ``impl`` with the arguments it
    declares, drawn from those and from ``fixed`` (pluggy's opt-in argument rule, resolved once)."""
    if impl is None:
        return None
    function = impl.function
    declared = set(impl.argnames) | set(impl.kwargnames)
    fixed_kwargs = {name: value for name, value in fixed.items() if name in declared}
    picks = tuple((name, index) for index, name in enumerate(dynamic) if name in declared)

    def call(*args: Any) -> Any:
        kwargs = fixed_kwargs.copy()
        for name, index in picks:
            kwargs[name] = args[index]
        return function(**kwargs)

    return call


class BoundProvider:
    """One configured instance: its settings, capabilities, SDK client and bound hook functions."""

    def __init__(
        self,
        settings: ProviderSettings,
        hooks: dict[str, HookImpl],
        info: ProviderInfo,
        capabilities: Capabilities,
        options: Any = None,
    ) -> None:
        self.settings = settings
        self.options = settings.options if options is None else options
        self.name = settings.name
        self.kind = settings.type
        self.info = info
        self.capabilities = capabilities
        self.client: Any = None
        self._hooks = hooks
        fixed = {"settings": settings, "options": self.options}
        self._translate = bind(hooks["gateway_translate"], fixed, ("request", "model"))
        self._map_error = bind(hooks["gateway_map_error"], fixed, ("error",))
        self._invoke: Callable[..., Any] | None = None
        self._stream: Callable[..., Any] | None = None
        self._close: Callable[..., Any] | None = None
        self._compact: Callable[..., Any] | None = None
        self._count: Callable[..., Any] | None = None
        self._list: Callable[..., Any] | None = None
        self.redactor = Redactor.for_instance(settings.api_key, settings.headers)

    def start(self) -> None:
        """Create the SDK client (once) and bind the hooks that use it."""
        create = bind(self._hooks["gateway_create_client"], {"settings": self.settings, "options": self.options}, ())
        self.client = create() if create else None
        fixed = {"settings": self.settings, "options": self.options, "client": self.client}
        self._invoke = bind(self._hooks["gateway_invoke"], fixed, ("native",))
        self._stream = bind(self._hooks["gateway_stream"], fixed, ("native",))
        self._close = bind(self._hooks.get("gateway_close_client"), fixed, ())
        self._compact = bind(self._hooks.get("gateway_compact"), fixed, ("request", "model"))
        self._count = bind(self._hooks.get("gateway_count_tokens"), fixed, ("native",))
        self._list = bind(self._hooks.get("gateway_list_models"), fixed, ())

    async def close(self) -> None:
        """Close the SDK client."""
        if self._close is not None and self.client is not None:
            await self._close()
        self.client = None

    def translate(self, request: ResponseRequest, model: str) -> Any:
        """The native request for ``model``."""
        return self._translate(request, model)  # type: ignore[misc]

    async def invoke(self, native: Any) -> Sequence[Delta]:
        """Run the request, not streaming."""
        return await self._invoke(native)  # type: ignore[misc]

    async def stream(self, native: Any) -> DeltaStream:
        """Open the stream; returns the iterator of delta lists."""
        return await self._stream(native)  # type: ignore[misc]

    async def compact(self, request: ResponseRequest, model: str) -> Any:
        """The provider's own compaction of the conversation, or ``None`` (it has none, or declined)."""
        return None if self._compact is None else await self._compact(request, model)

    @property
    def counts_tokens(self) -> bool:
        """Whether the plugin counts tokens (``gateway_count_tokens``)."""
        return self._hooks.get("gateway_count_tokens") is not None

    async def count_tokens(self, native: Any) -> int:
        """The provider's own count of the input tokens of ``native``."""
        return await self._count(native)  # type: ignore[misc, no-any-return]

    @property
    def lists_models(self) -> bool:
        """Whether the plugin lists its upstream models (``gateway_list_models``)."""
        return self._hooks.get("gateway_list_models") is not None

    async def list_models(self) -> list[str]:
        """The upstream's model ids."""
        return list(await self._list())  # type: ignore[misc]

    def map_error(self, error: BaseException) -> GatewayError:
        """The plugin's mapping of an exception (a ``GatewayError`` as it is), with this instance's secrets
        redacted from the message: every error of a call to this instance passes here or :meth:`redact`."""
        mapped = error if isinstance(error, GatewayError) else self._map_error(error)  # type: ignore[misc]
        if mapped is None:
            mapped = GatewayError(
                f"the upstream call to provider '{self.name}' failed ({type(error).__name__})",
                code="upstream_error",
            )
        return self.redactor.error(mapped)

    def redact(self, error: GatewayError) -> GatewayError:
        """``error`` with this instance's key, masked key forms and secret header values removed."""
        return self.redactor.error(error)
