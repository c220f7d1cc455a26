"""Open Responses types as msgspec Structs: the request, input items, output items, the response resource.

Requests decode and validate in one pass (`gateway_core.decode`); responses and events encode with one reused
encoder. Input types are lenient (they accept what real clients replay); output types are strict: every key
that ``openapi.json`` marks required is always present.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

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
    namespace: str | None = None
    """The namespace tool the function belongs to (OpenAI's ``namespace`` tools)."""


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


class CustomToolCall(Struct, tag="custom_tool_call", tag_field="type", omit_defaults=True):
    """A call of a ``custom`` (freeform) tool: its ``input`` is plain text. An OpenAI Responses type (not in
    Open Responses), used as an input item and as an output item."""

    call_id: Annotated[str, Meta(min_length=1, max_length=64)]
    name: str
    input: str
    id: str | None = None
    status: str | None = None
    namespace: str | None = None


class CustomToolCallOutput(Struct, tag="custom_tool_call_output", tag_field="type", omit_defaults=True):
    """The result of a custom tool call (an OpenAI Responses type)."""

    call_id: Annotated[str, Meta(min_length=1, max_length=64)]
    output: str | list[ToolOutputContent]
    id: str | None = None
    status: str | None = None


class WebSearchCall(Struct, tag="web_search_call", tag_field="type", omit_defaults=True):
    """A web search the provider ran (an OpenAI Responses type): ``action`` is OpenAI's, e.g.
    ``{"type": "search", "query": ..., "sources": [{"type": "url", "url": ...}]}``."""

    id: str | None = None
    status: str | None = None
    action: Any = UNSET


class HostedItem(Struct, tag_field="type", omit_defaults=True, kw_only=True):
    """Base of the OpenAI Responses item types that the gateway passes on as they are, to an OpenAI
    instance in Responses mode, and leaves out for other providers (see :data:`HOSTED_ITEM_FIELDS`). Every
    field is optional and kept as sent; ``kind`` is the item's ``type``."""

    id: Any = UNSET

    @property
    def kind(self) -> str:
        """The item's ``type``."""
        return type(self).__struct_config__.tag  # type: ignore[return-value]


class HostedTool(Struct, tag_field="type", omit_defaults=True, kw_only=True):
    """Base of the OpenAI Responses tool types that only an OpenAI instance in Responses mode runs (see
    :data:`HOSTED_TOOL_FIELDS`); every field optional and kept as sent; ``kind`` is the tool's ``type``."""

    @property
    def kind(self) -> str:
        """The tool's ``type``."""
        return type(self).__struct_config__.tag  # type: ignore[return-value]


HOSTED_ITEM_FIELDS: dict[str, tuple[str, ...]] = {
    "file_search_call": ("id", "queries", "results", "status"),
    "computer_call": ("id", "call_id", "action", "actions", "pending_safety_checks", "status"),
    "computer_call_output": ("id", "call_id", "output", "acknowledged_safety_checks", "status", "created_by"),
    "tool_search_call": ("id", "call_id", "arguments", "execution", "status", "created_by"),
    "tool_search_output": ("id", "call_id", "execution", "tools", "status", "created_by"),
    "additional_tools": ("id", "role", "tools"),
    "configuration_update": ("id", "reasoning", "text"),
    "image_generation_call": ("id", "action", "background", "error", "output_format", "quality", "result",
                              "revised_prompt", "size", "status", "svg_usage"),
    "code_interpreter_call": ("id", "code", "container_id", "outputs", "status"),
    "local_shell_call": ("id", "call_id", "action", "status"),
    "local_shell_call_output": ("id", "output", "status"),
    "shell_call": ("id", "call_id", "action", "caller", "environment", "status", "created_by"),
    "shell_call_output": ("id", "call_id", "caller", "max_output_length", "output", "status", "created_by"),
    "apply_patch_call": ("id", "call_id", "caller", "operation", "status", "created_by"),
    "apply_patch_call_output": ("id", "call_id", "caller", "output", "status", "created_by"),
    "mcp_list_tools": ("id", "error", "server_label", "tools"),
    "mcp_approval_request": ("id", "arguments", "name", "server_label"),
    "mcp_approval_response": ("id", "approval_request_id", "approve", "reason"),
    "mcp_call": ("id", "approval_request_id", "arguments", "error", "name", "output", "server_label", "status"),
    "compaction_trigger": ("id",),
    "program": ("id", "call_id", "code", "fingerprint"),
    "program_output": ("id", "call_id", "result", "status"),
}
"""OpenAI Responses item types with no Open Responses equivalent, and their fields (from the openai SDK's
input and output item types; ``gateway-core/tests/test_hosted_types.py`` keeps the table in step)."""

HOSTED_TOOL_FIELDS: dict[str, tuple[str, ...]] = {
    "file_search": ("vector_store_ids", "filters", "max_num_results", "ranking_options"),
    "computer": (),
    "computer_use_preview": ("display_height", "display_width", "environment"),
    "mcp": ("allowed_callers", "allowed_tools", "authorization", "connector_id", "defer_loading", "headers",
            "require_approval", "server_description", "server_label", "server_url", "tunnel_id"),
    "code_interpreter": ("allowed_callers", "container"),
    "programmatic_tool_calling": (),
    "image_generation": ("action", "background", "complexity", "frame_count", "frame_duration_ms",
                         "input_fidelity", "input_image_mask", "model", "moderation", "output_compression",
                         "output_format", "partial_images", "quality", "size", "svg"),
    "local_shell": (),
    "shell": ("allowed_callers", "environment"),
    "tool_search": ("description", "execution", "parameters"),
    "apply_patch": ("allowed_callers",),
}
"""OpenAI Responses tool types that only OpenAI runs, and their fields (kept in step like the items')."""


def _hosted(base: type[Struct], table: dict[str, tuple[str, ...]]) -> tuple[type[Struct], ...]:
    return tuple(
        msgspec.defstruct("".join(word.title() for word in kind.split("_")),
                          [(name, Any, UNSET) for name in fields if name != "id"],
                          bases=(base,), tag=kind, module=__name__)
        for kind, fields in table.items()
    )


HOSTED_ITEM_TYPES = _hosted(HostedItem, HOSTED_ITEM_FIELDS)
HOSTED_TOOL_TYPES = _hosted(HostedTool, HOSTED_TOOL_FIELDS)

if TYPE_CHECKING:
    WholeItem = Union[CustomToolCall, WebSearchCall, HostedItem]
else:
    _WHOLE_ITEM_TYPES = (CustomToolCall, WebSearchCall, *HOSTED_ITEM_TYPES)
    WholeItem = Union[_WHOLE_ITEM_TYPES]
"""An output item a provider hands on whole (no deltas of its own)."""

if TYPE_CHECKING:
    InputItem = Union[Message, FunctionCall, FunctionCallOutput, Reasoning, ItemReference, Compaction,
                      CustomToolCall, CustomToolCallOutput, WebSearchCall, HostedItem]
else:
    _INPUT_ITEM_TYPES = (Message, FunctionCall, FunctionCallOutput, Reasoning, ItemReference, Compaction,
                         CustomToolCall, CustomToolCallOutput, WebSearchCall, *HOSTED_ITEM_TYPES)
    InputItem = Union[_INPUT_ITEM_TYPES]

# --------------------------------------------------------------------------------------------------------
# Request settings


class FunctionTool(Struct, tag="function", tag_field="type"):
    """A function tool, as sent and as echoed (every key present, null where absent)."""

    name: Annotated[str, Meta(min_length=1, max_length=128)]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None
    defer_loading: bool | UnsetType = UNSET
    """OpenAI's ``defer_loading`` (with ``tool_search``): passed on to OpenAI, ignored elsewhere."""


class CustomTool(Struct, tag="custom", tag_field="type", omit_defaults=True):
    """A freeform tool whose input is plain text, optionally following ``format`` (a grammar). An OpenAI
    Responses type; providers without it get a function taking one string (``gateway_core.tool_plan``)."""

    name: Annotated[str, Meta(min_length=1, max_length=128)]
    description: str | None = None
    format: dict[str, Any] | None = None
    defer_loading: bool | UnsetType = UNSET


class NamespaceTool(Struct, tag="namespace", tag_field="type", omit_defaults=True):
    """A named group of function and custom tools (an OpenAI Responses type); flattened into plain functions
    (``<namespace>__<name>``) for providers without namespaces, and their calls mapped back."""

    name: Annotated[str, Meta(min_length=1, max_length=64)]
    tools: list[Union[FunctionTool, CustomTool]]
    description: str | None = None


class WebSearchTool(Struct, tag="web_search", tag_field="type", omit_defaults=True):
    """Web search run by the provider (an OpenAI Responses type, also ``web_search_2025_08_26`` and the
    ``web_search_preview`` types): OpenAI's tool, Anthropic's web search tool, Gemini's Google Search."""

    filters: Any = UNSET
    search_context_size: Any = UNSET
    user_location: Any = UNSET
    external_web_access: Any = UNSET
    search_content_types: Any = UNSET


class WebSearchToolDated(WebSearchTool, tag="web_search_2025_08_26"):
    """``web_search_2025_08_26``: the dated name of :class:`WebSearchTool`."""


class WebSearchPreviewTool(WebSearchTool, tag="web_search_preview"):
    """``web_search_preview``: the preview name of :class:`WebSearchTool`."""


class WebSearchPreviewToolDated(WebSearchTool, tag="web_search_preview_2025_03_11"):
    """``web_search_preview_2025_03_11``: the dated preview name of :class:`WebSearchTool`."""


WEB_SEARCH_TOOLS = (WebSearchTool, WebSearchToolDated, WebSearchPreviewTool, WebSearchPreviewToolDated)

if TYPE_CHECKING:
    Tool = Union[FunctionTool, CustomTool, NamespaceTool, WebSearchTool, HostedTool]
else:
    _TOOL_TYPES = (FunctionTool, CustomTool, NamespaceTool, *WEB_SEARCH_TOOLS, *HOSTED_TOOL_TYPES)
    Tool = Union[_TOOL_TYPES]


class FunctionChoice(Struct, tag="function", tag_field="type"):
    """``tool_choice`` forcing one function."""

    name: str


class AllowedTools(Struct, tag="allowed_tools", tag_field="type"):
    """``tool_choice`` restricting the callable tools (a hard constraint the core enforces)."""

    tools: list[FunctionChoice]
    mode: Literal["none", "auto", "required"] = "auto"


class CustomChoice(Struct, tag="custom", tag_field="type"):
    """``tool_choice`` forcing one custom tool (an OpenAI Responses type)."""

    name: str


ToolChoice = Union[Literal["none", "auto", "required"], FunctionChoice, AllowedTools, CustomChoice]


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
    tools: list[Tool] | None = None
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
    client_metadata: dict[str, Any] | None = None
    """Codex CLI's (read for its ``session_id``, which goes to the access log; never sent upstream)."""

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
    namespace: str | UnsetType = UNSET
    """The namespace tool the function belongs to (an OpenAI Responses field), when it has one."""


class OutputReasoning(Struct, tag="reasoning", tag_field="type", omit_defaults=True):
    """A reasoning item in ``output``; ``encrypted_content`` is omitted when there is none."""

    id: str
    summary: list[SummaryText]
    status: str
    content: list[ReasoningText] = field(default_factory=list)
    encrypted_content: str | None = None


if TYPE_CHECKING:
    OutputItem = Union[OutputMessage, OutputFunctionCall, OutputReasoning, CustomToolCall, WebSearchCall,
                       HostedItem]
else:
    _OUTPUT_ITEM_TYPES = (OutputMessage, OutputFunctionCall, OutputReasoning, CustomToolCall, WebSearchCall,
                          *HOSTED_ITEM_TYPES)
    OutputItem = Union[_OUTPUT_ITEM_TYPES]


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
    tools: list[Tool] = field(default_factory=list)
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
