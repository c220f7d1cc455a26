"""gateway-core: an Open Responses gateway with provider plugins.

The package root is the plugin contract (:mod:`gateway_core.contract`): ``hookimpl`` to mark hook
implementations, the hook specifications, the settings and capability types, the semantic deltas and the
error types. Importing it loads no web framework, store or YAML; the gateway itself lives in the submodules.
"""

from .contract import (
    ENTRY_POINT_GROUP,
    PROJECT,
    Capabilities,
    CompactedWindow,
    Delta,
    Finish,
    FunctionCallArgumentsDelta,
    FunctionCallStart,
    GatewayError,
    InvalidRequestError,
    ItemBreak,
    ModelError,
    NotFoundError,
    PartBreak,
    PayloadTooLargeError,
    ProviderInfo,
    ProviderSettings,
    RateLimitError,
    ReasoningSeal,
    ReasoningSummaryDelta,
    ReasoningTextDelta,
    RefusalDelta,
    TextDelta,
    UnsupportedMediaTypeError,
    UsageDelta,
    error_for_status,
    hookimpl,
    parse_retry_after,
    upstream_connection_error,
    upstream_timeout,
)

__all__ = [
    "Capabilities",
    "CompactedWindow",
    "Delta",
    "ENTRY_POINT_GROUP",
    "error_for_status",
    "Finish",
    "FunctionCallArgumentsDelta",
    "FunctionCallStart",
    "GatewayError",
    "hookimpl",
    "InvalidRequestError",
    "ItemBreak",
    "ModelError",
    "NotFoundError",
    "parse_retry_after",
    "PartBreak",
    "PayloadTooLargeError",
    "PROJECT",
    "ProviderInfo",
    "ProviderSettings",
    "RateLimitError",
    "ReasoningSeal",
    "ReasoningSummaryDelta",
    "ReasoningTextDelta",
    "RefusalDelta",
    "TextDelta",
    "UnsupportedMediaTypeError",
    "upstream_connection_error",
    "upstream_timeout",
    "UsageDelta",
]

__version__ = "0.1.0"
