"""Open Responses types as msgspec Structs: the request, input items, output items, the response resource.

Requests decode and validate in one pass (`gateway_core.decode`); responses and events encode with one reused
encoder. Input types are lenient (they accept what real clients replay); output types are strict: every key
that ``openapi.json`` marks required is always present.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType, field

# --------------------------------------------------------------------------------------------------------
# Content parts (input side)

ImageDetail = Literal["low", "high", "auto"]
NonNegative = Annotated[int, Meta(ge=0)]
NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""Model and provider names: no C0 or C1 control characters."""
Name = Annotated[str, Meta(max_length=256, pattern=NAME_PATTERN)]
"""A model or provider name: at most 256 characters, no control characters (they reach headers and logs)."""
Count = Annotated[int, Meta(ge=1, le=2**31 - 1)]
"""A positive count that every upstream can take (32-bit)."""
Metadata = Annotated[
    dict[Annotated[str, Meta(max_length=64)], Annotated[str, Meta(max_length=512)]], Meta(max_length=16)
]
"""``metadata``: OpenAI's limits, 16 pairs, keys up to 64 and values up to 512 characters."""


class InputText(Struct, tag="input_text", tag_field="type"):
    """Text sent by the user (or a system/developer message)."""

    text: str


class InputImage(Struct, tag="input_image", tag_field="type", omit_defaults=True):
    """An image as an https URL or a ``data:`` URL."""

    image_url: str | None = None
    detail: ImageDetail | None = None
    file_id: str | None = None


class InputFile(Struct, tag="input_file", tag_field="type", omit_defaults=True):
    """A file as a ``data:`` URL (``file_data``) or a URL."""

    filename: str | None = None
    file_data: str | None = None
    file_url: str | None = None
    file_id: str | None = None


class UrlCitation(Struct, tag="url_citation", tag_field="type"):
    """A URL citation annotation on output text."""

    url: str
    start_index: int
    end_index: int
    title: str = ""


class OutputText(Struct, tag="output_text", tag_field="type"):
    """Text written by the model."""

    text: str
    annotations: list[UrlCitation] = field(default_factory=list)
    logprobs: list[Any] = field(default_factory=list)


class Refusal(Struct, tag="refusal", tag_field="type"):
    """A refusal written by the model."""

    refusal: str


class SummaryText(Struct, tag="summary_text", tag_field="type"):
    """A reasoning summary."""

    text: str


class ReasoningText(Struct, tag="reasoning_text", tag_field="type"):
    """Raw reasoning text."""

    text: str


InputContent = Union[InputText, InputImage, InputFile, OutputText, Refusal]
OutputContent = Union[OutputText, Refusal]
ToolOutputContent = Union[InputText, InputImage, InputFile]

# --------------------------------------------------------------------------------------------------------
# Input items

Role = Literal["user", "assistant", "system", "developer"]


class Message(Struct, tag="message", tag_field="type", omit_defaults=True):
    """A message item. ``content`` is normalised to a part list before any provider sees it."""

    role: Role
    content: str | list[InputContent]
    id: str | None = None
    status: str | None = None
    phase: str | None = None


class FunctionCall(Struct, tag="function_call", tag_field="type", omit_defaults=True):
    """A tool call the model made earlier, replayed as input."""

    call_id: Annotated[str, Meta(min_length=1, max_length=64)]
    name: str
    arguments: str
    id: str | None = None
    status: str | None = None


class FunctionCallOutput(Struct, tag="function_call_output", tag_field="type", omit_defaults=True):
    """The result of a tool call. ``name`` is an optional extension (the openai SDK sends it)."""

    call_id: Annotated[str, Meta(min_length=1, max_length=64)]
    output: str | list[ToolOutputContent]
    id: str | None = None
    status: str | None = None
    name: str | None = None


class Reasoning(Struct, tag="reasoning", tag_field="type", omit_defaults=True):
    """A reasoning item, replayed as input; ``encrypted_content`` carries provider round-trip data."""

    summary: list[SummaryText] = field(default_factory=list)
    id: str | None = None
    content: list[ReasoningText] | None = None
    encrypted_content: str | None = None
    status: str | None = None


class ItemReference(Struct, tag="item_reference", tag_field="type"):
    """A reference to an item the gateway stored earlier."""

    id: str


class Compaction(Struct, tag="compaction", tag_field="type", omit_defaults=True):
    """A compacted window of earlier turns."""

    encrypted_content: str
    id: str | None = None


InputItem = Union[Message, FunctionCall, FunctionCallOutput, Reasoning, ItemReference, Compaction]

# --------------------------------------------------------------------------------------------------------
# Request settings


class FunctionTool(Struct, tag="function", tag_field="type"):
    """A function tool, as sent and as echoed (every key present, null where absent)."""

    name: Annotated[str, Meta(min_length=1, max_length=128)]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FunctionChoice(Struct, tag="function", tag_field="type"):
    """``tool_choice`` forcing one function."""

    name: str


class AllowedTools(Struct, tag="allowed_tools", tag_field="type"):
    """``tool_choice`` restricting the callable tools (a hard constraint the core enforces)."""

    tools: list[FunctionChoice]
    mode: Literal["none", "auto", "required"] = "auto"


ToolChoice = Union[Literal["none", "auto", "required"], FunctionChoice, AllowedTools]


class TextFormatText(Struct, tag="text", tag_field="type"):
    """Plain text output."""


class TextFormatJsonObject(Struct, tag="json_object", tag_field="type"):
    """Any JSON object as output."""


class TextFormatJsonSchema(Struct, tag="json_schema", tag_field="type"):
    """Output following a JSON schema."""

    name: str = "response"
    schema: dict[str, Any] | None = None
    description: str | None = None
    strict: bool = False


TextFormat = Union[TextFormatText, TextFormatJsonObject, TextFormatJsonSchema]


class TextSettings(Struct, omit_defaults=True):
    """The ``text`` field."""

    format: TextFormat = field(default_factory=TextFormatText)
    verbosity: Literal["low", "medium", "high"] | None = None


Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]


class ReasoningSettings(Struct):
    """The ``reasoning`` field (both keys always echoed)."""

    effort: Effort | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None


class StreamOptions(Struct):
    """``stream_options`` (accepted; obfuscation is never added)."""

    include_obfuscation: bool | None = None


class ResponseRequest(Struct, kw_only=True):
    """``POST /v1/responses`` body (CreateResponseBody), plus the gateway extensions ``provider``, ``stop``
    and ``user``. After decoding, ``input`` is always a list of items with part-list content."""

    model: Name | None = None
    input: str | list[InputItem] | None = None
    instructions: str | None = None
    previous_response_id: str | None = None
    include: list[str] = field(default_factory=list)
    tools: list[FunctionTool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    max_tool_calls: Count | None = None
    text: TextSettings | None = None
    reasoning: ReasoningSettings | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    presence_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None
    max_output_tokens: Count | None = None
    metadata: Metadata | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    truncation: Literal["auto", "disabled"] | None = None
    service_tier: Literal["auto", "default", "flex", "priority"] | None = None
    store: bool | None = None
    background: bool | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    # gateway extensions
    provider: Name | None = None
    stop: str | list[str] | None = None
    user: str | None = None

    @property
    def items(self) -> list[InputItem]:
        """The normalised input items (``input`` after decoding is always a list)."""
        return self.input  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------------------
# Output items and the response resource


class OutputMessage(Struct, tag="message", tag_field="type"):
    """An assistant message in ``output``."""

    id: str
    status: str
    role: str
    content: list[OutputContent]


class OutputFunctionCall(Struct, tag="function_call", tag_field="type"):
    """A tool call in ``output``."""

    id: str
    call_id: str
    name: str
    arguments: str
    status: str


class OutputReasoning(Struct, tag="reasoning", tag_field="type", omit_defaults=True):
    """A reasoning item in ``output``; ``encrypted_content`` is omitted when there is none."""

    id: str
    summary: list[SummaryText]
    status: str
    content: list[ReasoningText] = field(default_factory=list)
    encrypted_content: str | None = None


OutputItem = Union[OutputMessage, OutputFunctionCall, OutputReasoning]


class InputTokensDetails(Struct):
    """Cached input tokens; ``cache_write_tokens`` (an extension: input written to the provider's prompt cache,
    inside ``input_tokens``) only where the provider reports it."""

    cached_tokens: int = 0
    cache_write_tokens: int | UnsetType = UNSET


class OutputTokensDetails(Struct):
    """Reasoning output tokens."""

    reasoning_tokens: int = 0


class Usage(Struct):
    """Token usage; all five keys are always present. ``cost_usd`` (an extension) is what the usage cost,
    where the model's price is known."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: InputTokensDetails = field(default_factory=InputTokensDetails)
    output_tokens_details: OutputTokensDetails = field(default_factory=OutputTokensDetails)
    cost_usd: float | UnsetType = UNSET


class IncompleteDetails(Struct):
    """Why a response is incomplete: ``max_output_tokens`` or ``content_filter``."""

    reason: str


class ResponseError(Struct):
    """The ``error`` of a failed response resource."""

    code: str
    message: str


class TextField(Struct, omit_defaults=True):
    """The echoed ``text`` field (``verbosity`` only when set)."""

    format: TextFormat
    verbosity: str | None = None


class ResponseResource(Struct, kw_only=True):
    """The response resource: all 31 keys that openapi.json marks required, in its order."""

    id: str
    object: str = "response"
    created_at: int
    completed_at: int | None = None
    status: str = "in_progress"
    incomplete_details: IncompleteDetails | None = None
    model: str
    previous_response_id: str | None = None
    instructions: str | None = None
    output: list[OutputItem] = field(default_factory=list)
    error: ResponseError | None = None
    tools: list[FunctionTool] = field(default_factory=list)
    tool_choice: ToolChoice = "auto"
    truncation: str = "disabled"
    parallel_tool_calls: bool = True
    text: TextField = field(default_factory=lambda: TextField(format=TextFormatText()))
    top_p: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    top_logprobs: int = 0
    temperature: float = 1.0
    reasoning: ReasoningSettings | None = None
    usage: Usage | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    store: bool = False
    background: bool = False
    service_tier: str = "default"
    metadata: dict[str, str] = field(default_factory=dict)
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None


class ErrorBody(Struct):
    """The error object of an HTTP error body and of an ``error`` stream event."""

    type: str
    code: str | None
    message: str
    param: str | None


class ErrorEnvelope(Struct):
    """``{"error": {...}}``: the body of every error answer."""

    error: ErrorBody


class ModelCard(Struct):
    """One entry of ``GET /v1/models``."""

    id: str
    owned_by: str
    object: str = "model"
    created: int = 0


class ModelList(Struct):
    """``GET /v1/models``."""

    data: list[ModelCard]
    object: str = "list"


encoder = msgspec.json.Encoder()
"""The one JSON encoder of the request path."""
