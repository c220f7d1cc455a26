"""The hook specifications, defined in :mod:`gateway_core.contract.hookspecs` (kept here for old imports)."""

from .contract.hookspecs import (
    gateway_capabilities,
    gateway_close_client,
    gateway_compact,
    gateway_count_tokens,
    gateway_create_client,
    gateway_invoke,
    gateway_list_models,
    gateway_map_error,
    gateway_provider_info,
    gateway_stream,
    gateway_translate,
)

__all__ = [
    "gateway_capabilities",
    "gateway_close_client",
    "gateway_compact",
    "gateway_count_tokens",
    "gateway_create_client",
    "gateway_invoke",
    "gateway_list_models",
    "gateway_map_error",
    "gateway_provider_info",
    "gateway_stream",
    "gateway_translate",
]
