"""Test plugins made from the built-in mock: its hooks, some replaced or removed."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from gateway_core import ProviderInfo, hookimpl, mock

REQUIRED = ("gateway_create_client", "gateway_translate", "gateway_invoke", "gateway_stream", "gateway_map_error")


@hookimpl
def _info() -> ProviderInfo:
    return ProviderInfo(options=mock.MockOptions)


def mock_plugin(*, without: tuple[str, ...] = (), **hooks: Callable[..., Any]) -> object:
    """A plugin object with the mock's required hooks, minus ``without``, plus (or replaced by) ``hooks``."""
    namespace: dict[str, Any] = {name: getattr(mock, name) for name in REQUIRED if name not in without}
    namespace["gateway_provider_info"] = _info  # the mock's typed options, none of its prefixes
    namespace.update(hooks)
    return SimpleNamespace(**namespace)
