"""Anthropic Messages (``POST /v1/messages``, also ``?beta=true``) as a dialect of the core.

Request: ``system`` (string or text blocks); ``messages`` with text, image, document, tool_use,
tool_result, thinking and redacted_thinking blocks; ``{"role": "system"}`` messages inside ``messages`` (as
Claude Code sends them for models outside its catalog) are folded into the system prompt where they stand;
``tools`` (custom tools; ``defer_loading`` and ``cache_control`` accepted), ``tool_choice`` (auto, any, tool,
none, ``disable_parallel_tool_use``); ``thinking`` (enabled with a budget, adaptive, disabled) and
``output_config.effort`` -> ``reasoning.effort``; ``stop_sequences``, ``max_tokens``, ``temperature``,
``top_p``, ``metadata.user_id`` (a user id of over 64 characters, such as Claude Code's JSON string, is
passed on as its SHA-256). To other providers than Anthropic these are accepted and not forwarded (the core
request has no place for them): ``top_k``, ``cache_control``, ``context_management``, ``service_tier``.
Server tools (typed tools such as ``web_search_...``) are refused with a 400 naming the tool, for every
provider (not mapped yet).

Thinking round-trips: a thinking block's ``signature`` (and a redacted_thinking block's ``data``) is the
reasoning item's ``encrypted_content``, i.e. the gateway's provider-scoped envelope, so the signature the
client sends back reaches the provider that made it byte-exact, and no other.

Through an Anthropic instance the client's body goes upstream as sent (see
:class:`~gateway_core.contract.NativeRequest`): ``anthropic-beta`` / ``anthropic-version`` forwarded,
``cache_control``, ``top_k`` and every other field kept, and upstream errors returned as they came.

Answers are Anthropic's ``message`` object and its SSE grammar; errors are
``{"type": "error", "error": {"type", "message"}}`` with Anthropic's statuses (529 when overloaded).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from .. import deltas as d
from ..contract.native import NativeRequest
from ..errors import GatewayError, InvalidRequestError
from ..types import (
    FunctionCall,
    FunctionCallOutput,
    FunctionChoice,
    FunctionTool,
    InputFile,
    InputImage,
    InputItem,
    InputText,
    Message,
    OutputFunctionCall,
    OutputMessage,
    OutputReasoning,
    OutputText,
    Reasoning,
    ReasoningSettings,
    ResponseRequest,
    ResponseResource,
    SummaryText,
    Tool,
    encoder,
)
from .ingress import Dialect, StreamRenderer
from .shared import decode_body, require_model

_encode = encoder.encode
_decode_json = msgspec.json.decode

# --------------------------------------------------------------------------------------------------------
# Request


class _Source(Struct):
    type: str
    media_type: str | None = None
    data: str | None = None
    url: str | None = None


class _Block(Struct):
    """A content block of any type (one lenient struct: the fields each type uses)."""

    type: str
    text: str | None = None
    source: _Source | None = None
    title: str | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None
    tool_use_id: str | None = None
    content: str | list[_Block] | None = None
    is_error: bool | None = None
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None


class _Message(Struct):
    role: str
    content: str | list[_Block]


class _Tool(Struct):
    name: str
    type: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    strict: bool | None = None


class _ToolChoice(Struct):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class _Thinking(Struct):
    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = None


class _OutputConfig(Struct):
    effort: str | None = None


class _Metadata(Struct):
    user_id: str | None = None


class MessagesRequest(Struct, kw_only=True):
    """The ``POST /v1/messages`` body (the fields the gateway reads; others are accepted and ignored)."""

    model: str | None = None
    messages: list[_Message] | None = None
    system: str | list[_Block] | None = None
    max_tokens: Annotated[int, Meta(ge=1)] | None = None
    stop_sequences: list[str] | None = None
    temperature: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_k: Annotated[int, Meta(ge=0)] | None = None
    tools: list[_Tool] | None = None
    tool_choice: _ToolChoice | None = None
    thinking: _Thinking | None = None
    output_config: _OutputConfig | None = None
    metadata: _Metadata | None = None
    stream: bool | None = None


_decode = msgspec.json.Decoder(MessagesRequest).decode
_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "max": "xhigh", "xhigh": "xhigh"}
_CUSTOM_TOOL_TYPES = (None, "custom")


def _data_url(source: _Source) -> str | None:
    if source.type == "base64" and source.data is not None:
        return f"data:{source.media_type or 'application/octet-stream'};base64,{source.data}"
    if source.type == "url":
        return source.url
    return None


def _system_text(system: str | list[_Block] | None) -> str | None:
    if system is None or isinstance(system, str):
        return system or None
    return "\n".join(block.text or "" for block in system if block.type == "text") or None


def _tool_output(content: str | list[_Block] | None) -> str | list[Any]:
    if content is None or isinstance(content, str):
        return content or ""
    parts: list[Any] = []
    for block in content:
        if block.type == "text":
            parts.append(InputText(block.text or ""))
        elif block.type == "image" and block.source is not None:
            parts.append(InputImage(image_url=_data_url(block.source)))
    return parts if any(type(part) is not InputText for part in parts) else "".join(p.text for p in parts)


class _Items:
    """Blocks -> core items, keeping their order (a message is cut where a call or result stands)."""

    def __init__(self) -> None:
        self.items: list[InputItem] = []
        self.parts: list[Any] = []
        self.role = "user"

    def flush(self) -> None:
        if self.parts:
            self.items.append(Message(role=self.role, content=self.parts))  # type: ignore[arg-type]
            self.parts = []

    def add(self, item: InputItem) -> None:
        self.flush()
        self.items.append(item)

    def message(self, index: int, message: _Message) -> None:
        role = message.role
        where = f"messages[{index}]"
        if role not in ("user", "assistant", "system"):
            raise InvalidRequestError(f"unknown message role '{role}'", code="invalid_value", param=f"{where}.role")
        self.role = role
        content = message.content
        if isinstance(content, str):
            self.parts.append(OutputText(content) if role == "assistant" else InputText(content))
            self.flush()
            return
        for block_index, block in enumerate(content):
            self.block(role, block, f"{where}.content[{block_index}]")
        self.flush()

    def block(self, role: str, block: _Block, where: str) -> None:
        kind = block.type
        if kind == "text":
            if role == "assistant":
                self.parts.append(OutputText(block.text or ""))
            else:
                self.parts.append(InputText(block.text or ""))
        elif role == "system":
            raise InvalidRequestError("system messages may only hold text blocks", code="invalid_value", param=where)
        elif kind == "image" and block.source is not None:
            self.parts.append(InputImage(image_url=_data_url(block.source)))
        elif kind == "document" and block.source is not None:
            if block.source.type == "text":
                self.parts.append(InputText(block.source.data or ""))
            else:
                url = _data_url(block.source)
                if block.source.type == "url":
                    self.parts.append(InputFile(filename=block.title, file_url=url))
                else:
                    self.parts.append(InputFile(filename=block.title or "document.pdf", file_data=url))
        elif kind == "tool_use":
            self.add(FunctionCall(call_id=block.id or "", name=block.name or "",
                                  arguments=_encode(block.input if block.input is not None else {}).decode()))
        elif kind == "tool_result":
            self.add(FunctionCallOutput(call_id=block.tool_use_id or "", output=_tool_output(block.content)))
        elif kind == "thinking":
            self.add(Reasoning(summary=[SummaryText(block.thinking or "")], encrypted_content=block.signature))
        elif kind == "redacted_thinking":
            self.add(Reasoning(encrypted_content=block.data))
        else:
            raise InvalidRequestError(f"content blocks of type '{kind}' are not supported", code="invalid_value",
                                      param=where)


def _reasoning(messages: MessagesRequest) -> ReasoningSettings | None:
    thinking = messages.thinking
    effort = _EFFORTS.get(messages.output_config.effort or "") if messages.output_config else None
    if thinking is None or thinking.type == "disabled":
        return ReasoningSettings(effort=effort, summary="auto") if effort else None  # type: ignore[arg-type]
    if thinking.type == "enabled" and effort is None:
        budget = thinking.budget_tokens or 0
        effort = "low" if budget <= 2048 else "medium" if budget <= 8192 else "high"
    return ReasoningSettings(effort=effort or "medium", summary="auto")  # type: ignore[arg-type]


def _tools(tools: list[_Tool] | None) -> list[Tool] | None:
    if not tools:
        return None
    out: list[Tool] = []
    for index, tool in enumerate(tools):
        if tool.type not in _CUSTOM_TOOL_TYPES:
            raise InvalidRequestError(f"the server tool '{tool.type}' is not available through the gateway",
                                      code="unsupported_parameter", param=f"tools[{index}]")
        out.append(FunctionTool(name=tool.name, description=tool.description, parameters=tool.input_schema,
                                strict=tool.strict))
    return out


def _tool_choice(choice: _ToolChoice | None) -> Any:
    if choice is None:
        return None
    if choice.type == "tool":
        if not choice.name:
            raise InvalidRequestError("tool_choice of type 'tool' needs 'name'", code="missing_required_parameter",
                                      param="tool_choice.name")
        return FunctionChoice(choice.name)
    return {"auto": "auto", "any": "required", "none": "none"}[choice.type]


def _user(metadata: _Metadata | None) -> str | None:
    user = metadata.user_id if metadata else None
    if user is not None and len(user) > 64:
        return hashlib.sha256(user.encode()).hexdigest()
    return user


_FORWARDED_HEADERS = (b"anthropic-beta", b"anthropic-version")


def decode_messages(body: bytes, headers: dict[bytes, bytes] | None = None) -> tuple[NativeRequest, MessagesRequest]:
    """A Messages body as the core request (and the decoded body). Raises ``InvalidRequestError``."""
    messages = decode_body(_decode, body)
    model = require_model(messages.model)
    if not messages.messages:
        raise InvalidRequestError("'messages' must not be empty", code="empty_input", param="messages")
    items = _Items()
    for index, message in enumerate(messages.messages):
        items.message(index, message)
    choice = messages.tool_choice
    forwarded = {name.decode(): value.decode(errors="replace") for name in _FORWARDED_HEADERS
                 if (value := (headers or {}).get(name)) is not None}
    request = NativeRequest(
        dialect="messages",
        native_body=body,
        native_headers=forwarded,
        model=model,
        input=items.items,
        instructions=_system_text(messages.system),
        tools=_tools(messages.tools),
        tool_choice=_tool_choice(choice),
        parallel_tool_calls=False if choice is not None and choice.disable_parallel_tool_use else None,
        reasoning=_reasoning(messages),
        temperature=messages.temperature,
        top_p=messages.top_p,
        max_output_tokens=messages.max_tokens,
        stop=messages.stop_sequences,
        user=_user(messages.metadata),
        store=False,
        stream=messages.stream,
    )
    return request, messages


# --------------------------------------------------------------------------------------------------------
# Answers


class AnthropicUsage(Struct):
    """Anthropic usage (``input_tokens`` excludes cache reads, as Anthropic counts)."""

    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


class AnthropicMessage(Struct):
    """A ``message`` object."""

    id: str
    model: str
    content: list[dict[str, Any]]
    stop_reason: str | None
    usage: AnthropicUsage
    type: str = "message"
    role: str = "assistant"
    stop_sequence: None = None


class _ErrorBody(Struct):
    type: str
    message: str


class _ErrorEnvelope(Struct):
    error: _ErrorBody
    type: str = "error"


_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    415: "invalid_request_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def anthropic_error(error: GatewayError) -> tuple[int, _ErrorEnvelope]:
    """Anthropic's status and error object for ``error`` (overloaded and unavailable upstreams: 529)."""
    status = 529 if error.code == "overloaded" or error.status == 503 else error.status
    return status, _ErrorEnvelope(_ErrorBody(_STATUS_TYPES.get(status, "api_error"), error.message))


def _usage(resource: ResponseResource) -> AnthropicUsage:
    usage = resource.usage
    if usage is None:
        return AnthropicUsage(0, 0)
    cached = usage.input_tokens_details.cached_tokens
    return AnthropicUsage(max(0, usage.input_tokens - cached), usage.output_tokens, 0, cached)


def _stop_reason(resource: ResponseResource, called: bool) -> str:
    details = resource.incomplete_details
    if details is not None:
        return "refusal" if details.reason == "content_filter" else "max_tokens"
    return "tool_use" if called else "end_turn"


def message_id(resource: ResponseResource) -> str:
    """``msg_`` + the random part of the response id."""
    return "msg_" + resource.id.partition("_")[2]


def _reasoning_block(item: OutputReasoning) -> dict[str, Any] | None:
    text = "".join(part.text for part in item.summary) + "".join(part.text for part in item.content)
    if text or not item.encrypted_content:
        return {"type": "thinking", "thinking": text, "signature": item.encrypted_content or ""}
    return {"type": "redacted_thinking", "data": item.encrypted_content}


def render_message(resource: ResponseResource) -> AnthropicMessage:
    """The ``message`` for a finished (completed or incomplete) resource."""
    blocks: list[dict[str, Any]] = []
    called = False
    for item in resource.output:
        kind = type(item)
        if kind is OutputMessage:
            for part in item.content:  # type: ignore[union-attr]
                text = part.text if type(part) is OutputText else part.refusal  # type: ignore[union-attr]
                blocks.append({"type": "text", "text": text})
        elif kind is OutputFunctionCall:
            called = True
            try:
                arguments = _decode_json(item.arguments or "{}")  # type: ignore[union-attr]
            except msgspec.DecodeError:
                arguments = {}
            blocks.append({"type": "tool_use", "id": item.call_id, "name": item.name,  # type: ignore[union-attr]
                           "input": arguments})
        else:
            block = _reasoning_block(item)  # type: ignore[arg-type]
            if block is not None:
                blocks.append(block)
    return AnthropicMessage(message_id(resource), resource.model, blocks, _stop_reason(resource, called),
                            _usage(resource))


def _resource_error(resource: ResponseResource) -> GatewayError:
    error = resource.error
    return GatewayError(error.message if error else "the model failed", code=error.code if error else None)


def _event(name: bytes, payload: bytes) -> bytes:
    return b"event: " + name + b"\ndata: " + payload + b"\n\n"


_NONE, _TEXT, _THINKING, _TOOL = 0, 1, 2, 3
_PING = _event(b"ping", b'{"type":"ping"}')
_TEXT_START = b'{"type":"text","text":""}'
_THINKING_START = b'{"type":"thinking","thinking":"","signature":""}'


class MessagesStreamRenderer(StreamRenderer):
    """Anthropic's SSE grammar: ``message_start`` (input usage), ``ping``, then per block
    ``content_block_start`` (tool_use with ``input: {}``), its deltas (``text_delta``, ``input_json_delta``,
    ``thinking_delta``, ``signature_delta``) and ``content_block_stop``; ``message_delta`` (stop_reason,
    cumulative usage) and ``message_stop``. A failure after the start is an ``error`` event."""

    __slots__ = ("_called", "_index", "_kind", "_resource", "_started")

    def __init__(self, resource: ResponseResource) -> None:
        self._resource = resource
        self._started = False
        self._kind = _NONE
        self._index = -1
        self._called = False

    def _start(self, batch: Sequence[d.Delta]) -> bytes:
        self._started = True
        input_tokens = cached = 0
        for delta in batch:
            if type(delta) is d.UsageDelta:
                input_tokens = delta.input_tokens or input_tokens
                cached = delta.cached_tokens or cached
        resource = self._resource
        message = AnthropicMessage(message_id(resource), resource.model, [], None,
                                   AnthropicUsage(max(0, input_tokens - cached), 0, 0, cached))
        return _event(b"message_start", b'{"type":"message_start","message":' + _encode(message) + b"}") + _PING

    def _open(self, kind: int, block: bytes, out: list[bytes]) -> None:
        self._close(out)
        self._kind = kind
        self._index += 1
        out.append(_event(b"content_block_start", b'{"type":"content_block_start","index":%d,"content_block":%s}'
                          % (self._index, block)))

    def _close(self, out: list[bytes]) -> None:
        if self._kind != _NONE:
            out.append(_event(b"content_block_stop", b'{"type":"content_block_stop","index":%d}' % self._index))
            self._kind = _NONE

    def _delta(self, payload: bytes, out: list[bytes]) -> None:
        out.append(_event(b"content_block_delta", b'{"type":"content_block_delta","index":%d,"delta":%s}'
                          % (self._index, payload)))

    def feed(self, batch: Sequence[d.Delta]) -> bytes:
        """The events of one batch (``message_start`` before the first)."""
        out: list[bytes] = [] if self._started else [self._start(batch)]
        for delta in batch:
            kind = type(delta)
            if kind is d.TextDelta or kind is d.RefusalDelta:
                if delta.text:  # type: ignore[union-attr]
                    if self._kind != _TEXT:
                        self._open(_TEXT, _TEXT_START, out)
                    self._delta(b'{"type":"text_delta","text":' + _encode(delta.text) + b"}", out)  # type: ignore[union-attr]
            elif kind is d.ReasoningSummaryDelta or kind is d.ReasoningTextDelta:
                if delta.text:  # type: ignore[union-attr]
                    if self._kind != _THINKING:
                        self._open(_THINKING, _THINKING_START, out)
                    self._delta(b'{"type":"thinking_delta","thinking":' + _encode(delta.text) + b"}", out)  # type: ignore[union-attr]
            elif kind is d.ReasoningSeal:
                blob = _encode(delta.encrypted_content)  # type: ignore[union-attr]
                if self._kind == _THINKING:
                    self._delta(b'{"type":"signature_delta","signature":' + blob + b"}", out)
                else:
                    self._open(_THINKING, b'{"type":"redacted_thinking","data":' + blob + b"}", out)
                self._close(out)
            elif kind is d.FunctionCallStart:
                self._called = True
                block: dict[str, Any] = {"type": "tool_use", "id": delta.call_id,  # type: ignore[union-attr]
                                         "name": delta.name, "input": {}}  # type: ignore[union-attr]
                self._open(_TOOL, _encode(block), out)
            elif kind is d.FunctionCallArgumentsDelta:
                if delta.text and self._kind == _TOOL:  # type: ignore[union-attr]
                    self._delta(b'{"type":"input_json_delta","partial_json":' + _encode(delta.text) + b"}", out)  # type: ignore[union-attr]
            elif kind is d.ItemBreak or (kind is d.PartBreak and self._kind != _TOOL):
                self._close(out)
        return b"".join(out)

    def end(self, resource: ResponseResource) -> bytes:
        """``message_delta`` + ``message_stop``, or the ``error`` event of a failed stream."""
        out: list[bytes] = [] if self._started else [self._start(())]
        if resource.status == "failed":
            _, envelope = anthropic_error(_resource_error(resource))
            out.append(_event(b"error", _encode(envelope)))
            return b"".join(out)
        self._close(out)
        reason = _stop_reason(resource, self._called).encode()
        out.append(_event(b"message_delta", b'{"type":"message_delta","delta":{"stop_reason":"%s","stop_sequence":'
                          b'null},"usage":%s}' % (reason, _encode(_usage(resource)))))
        out.append(_event(b"message_stop", b'{"type":"message_stop"}'))
        return b"".join(out)


class MessagesDialect(Dialect):
    """Anthropic Messages."""

    path = "/v1/messages"
    route = "messages"

    def decode(self, body: bytes, headers: dict[bytes, bytes]) -> tuple[ResponseRequest, MessagesRequest]:
        """See :func:`decode_messages`."""
        return decode_messages(body, headers)

    def render(self, resource: ResponseResource, context: MessagesRequest) -> tuple[int, bytes]:
        """The ``message``, or the error of a failed response."""
        if resource.status == "failed":
            return self.error(_resource_error(resource))
        return 200, _encode(render_message(resource))

    def renderer(self, resource: ResponseResource, context: MessagesRequest) -> MessagesStreamRenderer:
        """An event renderer for the stream of ``resource``."""
        return MessagesStreamRenderer(resource)

    def error(self, error: GatewayError) -> tuple[int, bytes]:
        """Anthropic's error shape and status; an Anthropic upstream's own error as it came."""
        native = error.native
        if native is not None and native[0] == "messages":
            return native[1], native[2]
        status, envelope = anthropic_error(error)
        return status, _encode(envelope)


MESSAGES = MessagesDialect()
