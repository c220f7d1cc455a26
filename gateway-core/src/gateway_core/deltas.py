"""The semantic deltas; defined in :mod:`gateway_core.contract.deltas` (this module keeps old imports working)."""

from .contract.deltas import (
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

__all__ = [
    "CitationDelta",
    "Delta",
    "DeltaStream",
    "Finish",
    "FunctionCallArgumentsDelta",
    "FunctionCallStart",
    "ItemBreak",
    "OutputItemDelta",
    "PartBreak",
    "ReasoningSeal",
    "ReasoningSummaryDelta",
    "ReasoningTextDelta",
    "RefusalDelta",
    "TextDelta",
    "UsageDelta",
]
