"""Semantic deltas: the small vocabulary a provider uses to describe what the model produced.

Providers never build Open Responses items or events themselves. ``gateway_invoke`` returns a list of
deltas for a whole answer; ``gateway_stream`` yields lists of deltas as the upstream delivers them. The
core's :class:`~gateway_core.stream.ResponseBuilder` turns both into output items, ids and (for streams) the
exact event sequence, so every provider gets the event grammar right by construction.

Item boundaries follow from the deltas: text after a function call opens a new message, reasoning after text
opens a new reasoning item, and so on. ``PartBreak`` and ``ItemBreak`` split explicitly where the upstream
does (two text blocks, two thinking blocks in a row).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, Union

from msgspec import Struct

from ..types import CustomToolCall, HostedItem, WebSearchCall


class TextDelta(Struct, gc=False):
    """Append text to the assistant message's current ``output_text`` part."""

    text: str


class RefusalDelta(Struct, gc=False):
    """Append text to the assistant message's current ``refusal`` part."""

    text: str


class ReasoningSummaryDelta(Struct, gc=False):
    """Append text to the current reasoning item's current summary part."""

    text: str


class ReasoningTextDelta(Struct, gc=False):
    """Append raw reasoning text to the current reasoning item's ``reasoning_text`` content."""

    text: str


class ReasoningSeal(Struct, gc=False):
    """Set ``encrypted_content`` (provider round-trip data) on the current reasoning item and close it.

    With no reasoning item open, one is opened (with an empty summary) and closed at once.
    """

    encrypted_content: str


class FunctionCallStart(Struct, gc=False):
    """Open a function call item. ``call_id`` is the provider's id (or :func:`gateway_core.ids.new_call_id`);
    ``namespace`` is the namespace tool it belongs to, from a provider that runs namespaces itself."""

    call_id: str
    name: str
    namespace: str | None = None


class FunctionCallArgumentsDelta(Struct, gc=False):
    """Append to the open function call's ``arguments`` (a JSON string when complete)."""

    text: str


class CitationDelta(Struct, gc=False):
    """A ``url_citation`` on the current ``output_text`` part: ``start_index`` and ``end_index`` count
    characters of that part's text (what a web search answer cites)."""

    url: str
    title: str
    start_index: int
    end_index: int


class OutputItemDelta(Struct, gc=False):
    """A whole output item with no deltas of its own: a ``web_search_call``, a ``custom_tool_call`` from a
    provider that runs custom tools, an OpenAI hosted tool's item. It closes the open item and is added as it
    is (given an id and ``status: completed`` when it has none)."""

    item: CustomToolCall | WebSearchCall | HostedItem


class PartBreak(Struct, gc=False):
    """Close the current content or summary part; the next delta of the same kind opens a new part."""


class ItemBreak(Struct, gc=False):
    """Close the current output item; the next delta opens a new one."""


class UsageDelta(Struct, gc=False):
    """Token counts. Fields left ``None`` keep their previous value; ``total_tokens`` defaults to the sum."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    total_tokens: int | None = None
    cache_write_tokens: int | None = None
    """Input written to the provider's prompt cache (inside ``input_tokens``; it has its own price)."""


class Finish(Struct, gc=False):
    """The model stopped. ``incomplete_reason`` (``max_output_tokens`` or ``content_filter``) makes the
    response incomplete; ``error_code`` + ``error_message`` make it failed with a ``model_error``."""

    incomplete_reason: str | None = None
    error_code: str | None = None
    error_message: str | None = None


Delta = Union[
    TextDelta,
    RefusalDelta,
    ReasoningSummaryDelta,
    ReasoningTextDelta,
    ReasoningSeal,
    FunctionCallStart,
    FunctionCallArgumentsDelta,
    CitationDelta,
    OutputItemDelta,
    PartBreak,
    ItemBreak,
    UsageDelta,
    Finish,
]


class DeltaStream(Protocol):
    """What ``gateway_stream`` returns: an async iterator of delta lists that can be closed early.

    The core iterates it until it ends and calls ``aclose()`` when the client goes away, so the upstream stops
    generating. An async generator is one; SSE plugins get one from :class:`gateway_core.sse.SSEStream`.
    """

    def __aiter__(self) -> DeltaStream: ...

    async def __anext__(self) -> Sequence[Delta]: ...

    async def aclose(self) -> None:
        """Stop reading and release the upstream connection (idempotent)."""
