"""The plugin contract: everything a provider plugin uses, and nothing else.

The hook specifications (:mod:`.hookspecs`) with ``hookimpl`` to mark implementations, the settings each
hook receives, what a plugin reports about itself (``ProviderInfo``, ``Capabilities``, ``CompactedWindow``),
the semantic deltas it describes answers with, and the errors it maps its SDK's exceptions to.

This package imports nothing from the gateway but itself and the Open Responses schema
(:mod:`gateway_core.types`): no web framework, no store, no YAML, so a plugin (and its tests) loads it cheaply.
``gateway_core`` re-exports all of it; ``tests/test_architecture.py`` keeps the rule.
"""

from .deltas import (
    CitationDelta,
    Delta,
    DeltaStream,
    Finish,
    FunctionCallArgumentsDelta,
    FunctionCallStart,
    ItemBreak,
    OutputItemDelta,
    PartBreak,
    ReasoningSeal,
    ReasoningSummaryDelta,
    ReasoningTextDelta,
    RefusalDelta,
    TextDelta,
    UsageDelta,
)
from .errors import (
    ERROR_TYPE_STATUS,
    GatewayError,
    InvalidRequestError,
    ModelError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitError,
    ResponseTooLargeError,
    StreamInterrupted,
    UnsupportedMediaTypeError,
    context_length_exceeded,
    error_for_status,
    parse_retry_after,
    retry_after_from_headers,
    status_of_error_type,
    transport_error,
    upstream_connection_error,
    upstream_redirect,
    upstream_timeout,
)
from .hookspecs import ENTRY_POINT_GROUP, PROJECT, hookimpl
from .native import NativeRequest
from .provider import Capabilities, CompactedWindow, ProviderInfo
from .settings import ProviderSettings, mask_url

__all__ = [
    "Capabilities",
    "CitationDelta",
    "CompactedWindow",
    "context_length_exceeded",
    "Delta",
    "DeltaStream",
    "ENTRY_POINT_GROUP",
    "error_for_status",
    "ERROR_TYPE_STATUS",
    "Finish",
    "FunctionCallArgumentsDelta",
    "FunctionCallStart",
    "GatewayError",
    "hookimpl",
    "InvalidRequestError",
    "ItemBreak",
    "mask_url",
    "ModelError",
    "NativeRequest",
    "NotFoundError",
    "OutputItemDelta",
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
    "ResponseTooLargeError",
    "retry_after_from_headers",
    "status_of_error_type",
    "StreamInterrupted",
    "TextDelta",
    "transport_error",
    "UnsupportedMediaTypeError",
    "upstream_connection_error",
    "upstream_redirect",
    "upstream_timeout",
    "UsageDelta",
]
