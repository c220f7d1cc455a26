"""gateway-core: an Open Responses gateway with provider plugins.

The public surface for plugin authors is re-exported here: ``hookimpl`` to mark hook implementations, the
semantic deltas, the error types, and the settings and capability types. See ``gateway_core.hookspecs`` for
the contract itself.
"""

from .config import ProviderSettings
from .deltas import (
    Delta,
    Finish,
    FunctionCallArgumentsDelta,
    FunctionCallStart,
    ItemBreak,
    PartBreak,
    ReasoningSeal,
    ReasoningSummaryDelta,
    ReasoningTextDelta,
    RefusalDelta,
    TextDelta,
    UsageDelta,
)
from .errors import (
    GatewayError,
    InvalidRequestError,
    ModelError,
    NotFoundError,
    RateLimitError,
    error_for_status,
)
from .plugins import ENTRY_POINT_GROUP, hookimpl
from .provider import Capabilities, ProviderInfo

__all__ = [
    "ENTRY_POINT_GROUP",
    "Capabilities",
    "Delta",
    "Finish",
    "FunctionCallArgumentsDelta",
    "FunctionCallStart",
    "GatewayError",
    "InvalidRequestError",
    "ItemBreak",
    "ModelError",
    "NotFoundError",
    "PartBreak",
    "ProviderInfo",
    "ProviderSettings",
    "RateLimitError",
    "ReasoningSeal",
    "ReasoningSummaryDelta",
    "ReasoningTextDelta",
    "RefusalDelta",
    "TextDelta",
    "UsageDelta",
    "error_for_status",
    "hookimpl",
]

__version__ = "0.1.0"
