"""The semantic deltas; defined in :mod:`gateway_core.contract.deltas` (this module keeps old imports working)."""

from .contract.deltas import (
    Delta,
    DeltaStream,
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

__all__ = [
    "Delta",
    "DeltaStream",
    "Finish",
    "FunctionCallArgumentsDelta",
    "FunctionCallStart",
    "ItemBreak",
    "PartBreak",
    "ReasoningSeal",
    "ReasoningSummaryDelta",
    "ReasoningTextDelta",
    "RefusalDelta",
    "TextDelta",
    "UsageDelta",
]
