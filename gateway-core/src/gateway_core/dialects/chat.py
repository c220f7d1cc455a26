"""OpenAI Chat Completions (``POST /v1/chat/completions``) as a dialect of the core.

Request: ``messages`` (system, developer, user, assistant, tool) with text, image and file parts, tool calls
and results, ``tools`` / ``tool_choice`` (incl. ``allowed_tools``), ``parallel_tool_calls``,
``response_format`` (json_schema, json_object), ``max_tokens`` / ``max_completion_tokens``, ``stop``,
``temperature``, ``top_p``, ``presence_penalty``, ``frequency_penalty``, ``reasoning_effort``, ``verbosity``,
``user``, ``metadata``, ``store`` (default false here, as OpenAI's), ``service_tier``, ``prompt_cache_key``,
``safety_identifier``, ``stream`` + ``stream_options.include_usage``. ``seed`` is accepted and not forwarded
(the core request has no seed). Refused with a 400 naming the parameter: ``n`` > 1, ``logprobs``,
``audio`` / ``modalities`` with audio, ``function_call`` / ``functions`` (the legacy API).

Answers are ``chat.completion`` / ``chat.completion.chunk`` as OpenAI emits them; errors are OpenAI's
``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from .. import deltas as d
from ..errors import GatewayError, InvalidRequestError
from ..types import (
    AllowedTools,
    Effort,
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
    OutputText,
    ReasoningSettings,
    Refusal,
    ResponseRequest,
    ResponseResource,
    TextFormatJsonObject,
    TextFormatJsonSchema,
    TextFormatText,
    TextSettings,
    encoder,
)
from .ingress import Dialect, StreamRenderer
from .shared import decode_body, require_model

_encode = encoder.encode
_DONE = b"data: [DONE]\n\n"

# --------------------------------------------------------------------------------------------------------
# Request


class _ImageUrl(Struct):
    url: str
    detail: Literal["low", "high", "auto"] | None = None


class _File(Struct):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class _Part(Struct):
    """A content part (text, image_url, file, refusal; input_audio is refused)."""

    type: str
    text: str | None = None
    image_url: _ImageUrl | None = None
    file: _File | None = None
    refusal: str | None = None


class _Function(Struct):
    name: str
    arguments: str = ""


class _ToolCall(Struct):
    id: str
    function: _Function
    type: str = "function"


class _Message(Struct):
    role: str
    content: str | list[_Part] | None = None
    name: str | None = None
    tool_calls: list[_ToolCall] | None = None
    tool_call_id: str | None = None
    refusal: str | None = None


class _FunctionDef(Struct):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class _Tool(Struct):
    function: _FunctionDef
    type: str = "function"


class _Named(Struct):
    name: str


class _NamedChoice(Struct):
    type: str
    function: _Named | None = None
    allowed_tools: _AllowedTools | None = None


class _AllowedTools(Struct):
    tools: list[_NamedChoice]
    mode: Literal["auto", "required"] = "auto"


class _JsonSchema(Struct):
    name: str = "response"
    schema: dict[str, Any] | None = None
    description: str | None = None
    strict: bool | None = None


class _ResponseFormat(Struct):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: _JsonSchema | None = None


class _StreamOptions(Struct):
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


class ChatRequest(Struct, kw_only=True):
    """The ``POST /v1/chat/completions`` body (the fields the gateway reads; others are ignored)."""

    model: str | None = None
    messages: list[_Message] | None = None
    input: Any = None
    tools: list[_Tool] | None = None
    tool_choice: str | _NamedChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: _ResponseFormat | None = None
    max_tokens: Annotated[int, Meta(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Meta(ge=1)] | None = None
    stop: str | list[str] | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    presence_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    seed: int | None = None
    reasoning_effort: Effort | None = None
    verbosity: Literal["low", "medium", "high"] | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: Literal["auto", "default", "flex", "priority"] | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None
    stream: bool | None = None
    stream_options: _StreamOptions | None = None
    n: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    modalities: list[str] | None = None
    audio: Any = None
    functions: Any = None
    function_call: Any = None


_decode = msgspec.json.Decoder(ChatRequest).decode


def _unsupported(param: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(message, code="unsupported_parameter", param=param)


def _refuse_unservable(chat: ChatRequest) -> None:
    if chat.n is not None and chat.n > 1:
        raise _unsupported("n", "the gateway returns one choice per request: 'n' must be 1")
    if chat.logprobs or chat.top_logprobs:
        param = "logprobs" if chat.logprobs else "top_logprobs"
        raise _unsupported(param, "log probabilities are not available through the gateway")
    if chat.audio is not None or (chat.modalities and "audio" in chat.modalities):
        raise _unsupported("audio" if chat.audio is not None else "modalities", "audio output is not supported")
    if chat.functions is not None or chat.function_call is not None:
        raise _unsupported("functions" if chat.functions is not None else "function_call",
                           "the legacy 'functions' API is not supported: use 'tools' and 'tool_choice'")


def _user_parts(parts: list[_Part], where: str) -> list[Any]:
    out: list[Any] = []
    for index, part in enumerate(parts):
        kind = part.type
        if kind == "text":
            out.append(InputText(part.text or ""))
        elif kind == "image_url" and part.image_url is not None:
            out.append(InputImage(image_url=part.image_url.url, detail=part.image_url.detail or "auto"))
        elif kind == "file" and part.file is not None:
            out.append(InputFile(filename=part.file.filename, file_data=part.file.file_data,
                                 file_id=part.file.file_id))
        else:
            raise _unsupported(f"{where}.content[{index}]", f"content parts of type '{kind}' are not supported")
    return out


def _text_of(content: str | list[_Part] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(part.text or "" for part in content if part.type == "text")


def _items(messages: list[_Message]) -> list[InputItem]:
    items: list[InputItem] = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        role = message.role
        content = message.content
        if role in ("system", "developer"):
            items.append(Message(role=role, content=[InputText(_text_of(content))]))  # type: ignore[arg-type]
        elif role == "user":
            parts = [InputText(content or "")] if content is None or isinstance(content, str) else _user_parts(
                content, where)
            items.append(Message(role="user", content=parts))
        elif role == "assistant":
            parts_out: list[Any] = []
            if isinstance(content, str):
                if content:
                    parts_out.append(OutputText(content))
            elif content:
                for part in content:
                    if part.type == "refusal":
                        parts_out.append(Refusal(part.refusal or ""))
                    elif part.text:
                        parts_out.append(OutputText(part.text))
            if message.refusal:
                parts_out.append(Refusal(message.refusal))
            if parts_out:
                items.append(Message(role="assistant", content=parts_out))
            for call in message.tool_calls or ():
                items.append(FunctionCall(call_id=call.id, name=call.function.name,
                                          arguments=call.function.arguments or "{}"))
        elif role == "tool":
            if not message.tool_call_id:
                raise InvalidRequestError("tool messages need 'tool_call_id'", code="missing_required_parameter",
                                          param=f"{where}.tool_call_id")
            items.append(FunctionCallOutput(call_id=message.tool_call_id, output=_text_of(content)))
        else:
            raise InvalidRequestError(f"unknown message role '{role}'", code="invalid_value", param=f"{where}.role")
    return items


def _tool_choice(choice: str | _NamedChoice | None) -> Any:
    if choice is None or isinstance(choice, str):
        return choice
    if choice.type == "function" and choice.function is not None:
        return FunctionChoice(choice.function.name)
    if choice.type == "allowed_tools" and choice.allowed_tools is not None:
        allowed = choice.allowed_tools
        names = [FunctionChoice(tool.function.name) for tool in allowed.tools if tool.function is not None]
        return AllowedTools(tools=names, mode=allowed.mode)
    raise _unsupported("tool_choice", f"tool_choice of type '{choice.type}' is not supported")


def _text_settings(chat: ChatRequest) -> TextSettings | None:
    fmt = chat.response_format
    if fmt is None and chat.verbosity is None:
        return None
    if fmt is None or fmt.type == "text":
        return TextSettings(format=TextFormatText(), verbosity=chat.verbosity)
    if fmt.type == "json_object":
        return TextSettings(format=TextFormatJsonObject(), verbosity=chat.verbosity)
    schema = fmt.json_schema
    if schema is None:
        raise InvalidRequestError("'response_format.json_schema' is required for type json_schema",
                                  code="missing_required_parameter", param="response_format.json_schema")
    return TextSettings(format=TextFormatJsonSchema(name=schema.name, schema=schema.schema,
                                                    description=schema.description, strict=bool(schema.strict)),
                        verbosity=chat.verbosity)


class ChatContext(Struct):
    """What rendering needs beyond the resource."""

    include_usage: bool


def decode_chat(body: bytes) -> tuple[ResponseRequest, ChatContext]:
    """A Chat Completions body as the core request. Raises :class:`InvalidRequestError` naming the param."""
    chat = decode_body(_decode, body)
    if chat.messages is None:
        if chat.input is not None:
            raise InvalidRequestError(
                "this is an Open Responses body ('input', no 'messages'): POST it to /v1/responses, or send "
                "'messages' here", code="wrong_endpoint", param="input")
        raise InvalidRequestError("'messages' is required", code="missing_required_parameter", param="messages")
    if not chat.messages:
        raise InvalidRequestError("'messages' must not be empty", code="empty_input", param="messages")
    model = require_model(chat.model)
    _refuse_unservable(chat)
    request = ResponseRequest(
        model=model,
        input=_items(chat.messages),
        tools=[FunctionTool(name=tool.function.name, description=tool.function.description,
                            parameters=tool.function.parameters, strict=tool.function.strict)
               for tool in chat.tools] if chat.tools else None,
        tool_choice=_tool_choice(chat.tool_choice),
        parallel_tool_calls=chat.parallel_tool_calls,
        text=_text_settings(chat),
        reasoning=ReasoningSettings(effort=chat.reasoning_effort) if chat.reasoning_effort else None,
        temperature=chat.temperature,
        top_p=chat.top_p,
        presence_penalty=chat.presence_penalty,
        frequency_penalty=chat.frequency_penalty,
        max_output_tokens=chat.max_completion_tokens if chat.max_completion_tokens is not None else chat.max_tokens,
        metadata=chat.metadata,
        store=bool(chat.store),
        service_tier=chat.service_tier,
        prompt_cache_key=chat.prompt_cache_key,
        safety_identifier=chat.safety_identifier,
        stop=chat.stop,
        user=chat.user,
        stream=chat.stream,
    )
    return request, ChatContext(include_usage=bool(chat.stream_options and chat.stream_options.include_usage))


# --------------------------------------------------------------------------------------------------------
# Answers


class _FunctionOut(Struct):
    name: str
    arguments: str


class _ToolCallOut(Struct):
    id: str
    function: _FunctionOut
    type: str = "function"


class _MessageOut(Struct):
    content: str | None
    refusal: str | None
    tool_calls: list[_ToolCallOut] | UnsetType = UNSET  # absent when there are none, as OpenAI sends it
    role: str = "assistant"
    annotations: list[Any] = msgspec.field(default_factory=list)


class _Choice(Struct):
    index: int
    message: _MessageOut
    finish_reason: str
    logprobs: None = None


class _PromptDetails(Struct):
    cached_tokens: int = 0
    audio_tokens: int = 0


class _CompletionDetails(Struct):
    reasoning_tokens: int = 0
    audio_tokens: int = 0
    accepted_prediction_tokens: int = 0
    rejected_prediction_tokens: int = 0


class ChatUsage(Struct):
    """Chat Completions usage, with cached and reasoning tokens."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: _PromptDetails
    completion_tokens_details: _CompletionDetails


class ChatCompletion(Struct):
    """A ``chat.completion`` object."""

    id: str
    created: int
    model: str
    choices: list[_Choice]
    usage: ChatUsage
    object: str = "chat.completion"
    service_tier: str = "default"
    system_fingerprint: None = None


class _ErrorBody(Struct):
    message: str
    type: str
    param: str | None
    code: str | None


class _ErrorEnvelope(Struct):
    error: _ErrorBody


_ERROR_TYPES = {
    "invalid_request": "invalid_request_error",
    "not_found": "invalid_request_error",
    "too_many_requests": "rate_limit_error",
    "model_error": "server_error",
}


def chat_error_body(error: GatewayError) -> _ErrorEnvelope:
    """OpenAI's error object for ``error``."""
    return _ErrorEnvelope(_ErrorBody(error.message, _ERROR_TYPES.get(error.type, error.type), error.param,
                                     error.code))


def _usage(resource: ResponseResource) -> ChatUsage:
    usage = resource.usage
    if usage is None:
        return ChatUsage(0, 0, 0, _PromptDetails(), _CompletionDetails())
    return ChatUsage(usage.input_tokens, usage.output_tokens, usage.total_tokens,
                     _PromptDetails(cached_tokens=usage.input_tokens_details.cached_tokens),
                     _CompletionDetails(reasoning_tokens=usage.output_tokens_details.reasoning_tokens))


def _finish_reason(resource: ResponseResource, called: bool) -> str:
    details = resource.incomplete_details
    if details is not None:
        return "content_filter" if details.reason == "content_filter" else "length"
    return "tool_calls" if called else "stop"


def completion_id(resource: ResponseResource) -> str:
    """``chatcmpl-`` + the random part of the response id (the stored record keeps the ``resp_`` id)."""
    return "chatcmpl-" + resource.id.partition("_")[2]


def _resource_error(resource: ResponseResource) -> GatewayError:
    error = resource.error
    return GatewayError(error.message if error else "the model failed", code=error.code if error else None)


def render_completion(resource: ResponseResource) -> ChatCompletion:
    """The ``chat.completion`` for a finished (completed or incomplete) resource."""
    texts: list[str] = []
    refusals: list[str] = []
    calls: list[_ToolCallOut] = []
    for item in resource.output:
        kind = type(item)
        if kind is OutputMessage:
            for part in item.content:  # type: ignore[union-attr]
                if type(part) is OutputText:
                    texts.append(part.text)  # type: ignore[union-attr]
                else:
                    refusals.append(part.refusal)  # type: ignore[union-attr]
        elif kind is OutputFunctionCall:
            calls.append(_ToolCallOut(item.call_id, _FunctionOut(item.name, item.arguments)))  # type: ignore[union-attr]
    message = _MessageOut(content="".join(texts) if texts or not (calls or refusals) else None,
                          refusal="".join(refusals) if refusals else None, tool_calls=calls or UNSET)
    return ChatCompletion(completion_id(resource), resource.created_at, resource.model,
                          [_Choice(0, message, _finish_reason(resource, bool(calls)))], _usage(resource))


class ChatStreamRenderer(StreamRenderer):
    """``chat.completion.chunk`` frames: a role chunk, content / refusal / tool-call deltas (with ``index``),
    a chunk with ``finish_reason``, the usage chunk (empty ``choices``) when asked, then ``[DONE]``."""

    __slots__ = ("_call", "_include_usage", "_prefix", "_started", "_suffix")

    def __init__(self, resource: ResponseResource, include_usage: bool) -> None:
        head = {"id": completion_id(resource), "object": "chat.completion.chunk", "created": resource.created_at,
                "model": resource.model,
                "service_tier": "default", "system_fingerprint": None}
        self._prefix = b"data: " + _encode(head)[:-1] + b',"choices":[{"index":0,"delta":'
        self._suffix = b',"logprobs":null,"finish_reason":null}]' + (b',"usage":null' if include_usage else b"")
        self._suffix += b"}\n\n"
        self._include_usage = include_usage
        self._call = -1
        self._started = False

    def _chunk(self, delta: bytes) -> bytes:
        return self._prefix + delta + self._suffix

    def _role_chunk(self, content: bytes) -> bytes:
        """The first chunk: the role, with ``content`` ``""`` before text and ``null`` before a tool call."""
        self._started = True
        return self._chunk(b'{"role":"assistant","content":' + content + b',"refusal":null}')

    def feed(self, batch: Sequence[d.Delta]) -> bytes:
        """Content, refusal and tool-call deltas (the role chunk before the first)."""
        out: list[bytes] = []
        for delta in batch:
            kind = type(delta)
            if kind is d.TextDelta:
                if delta.text:  # type: ignore[union-attr]
                    if not self._started:
                        out.append(self._role_chunk(b'""'))
                    out.append(self._chunk(b'{"content":' + _encode(delta.text) + b"}"))  # type: ignore[union-attr]
            elif kind is d.FunctionCallStart:
                if not self._started:
                    out.append(self._role_chunk(b"null"))
                self._call += 1
                call = {"index": self._call, "id": delta.call_id, "type": "function",  # type: ignore[union-attr]
                        "function": {"name": delta.name, "arguments": ""}}  # type: ignore[union-attr]
                out.append(self._chunk(b'{"tool_calls":[' + _encode(call) + b"]}"))
            elif kind is d.FunctionCallArgumentsDelta:
                if delta.text and self._call >= 0:  # type: ignore[union-attr]
                    out.append(self._chunk(b'{"tool_calls":[{"index":%d,"function":{"arguments":%s}}]}' % (
                        self._call, _encode(delta.text))))  # type: ignore[union-attr]
            elif kind is d.RefusalDelta and delta.text:  # type: ignore[union-attr]
                if not self._started:
                    out.append(self._role_chunk(b"null"))
                out.append(self._chunk(b'{"refusal":' + _encode(delta.text) + b"}"))  # type: ignore[union-attr]
        return b"".join(out)

    def end(self, resource: ResponseResource) -> bytes:
        """The finish chunk and usage chunk, or the error; then ``[DONE]``."""
        if resource.status == "failed":
            return b"data: " + _encode(chat_error_body(_resource_error(resource))) + b"\n\n" + _DONE
        reason = _finish_reason(resource, self._call >= 0).encode()
        last = b"" if self._started else self._role_chunk(b'""')
        last += self._prefix + b'{},"logprobs":null,"finish_reason":"' + reason + b'"}]'
        last += (b',"usage":null}\n\n' if self._include_usage else b"}\n\n")
        if self._include_usage:
            usage = self._prefix[: -len(b'[{"index":0,"delta":')] + b"[]," + b'"usage":' + _encode(
                _usage(resource)) + b"}\n\n"
            last += usage
        return last + _DONE


class ChatDialect(Dialect):
    """OpenAI Chat Completions."""

    path = "/v1/chat/completions"
    route = "chat_completions"

    def decode(self, body: bytes, headers: dict[bytes, bytes]) -> tuple[ResponseRequest, ChatContext]:
        """See :func:`decode_chat`."""
        return decode_chat(body)

    def render(self, resource: ResponseResource, context: ChatContext) -> tuple[int, bytes]:
        """``chat.completion``, or the error of a failed response."""
        if resource.status == "failed":
            return self.error(_resource_error(resource))
        return 200, _encode(render_completion(resource))

    def renderer(self, resource: ResponseResource, context: ChatContext) -> ChatStreamRenderer:
        """A chunk renderer for the stream of ``resource``."""
        return ChatStreamRenderer(resource, context.include_usage)

    def error(self, error: GatewayError) -> tuple[int, bytes]:
        """OpenAI's error shape with the gateway's status."""
        return error.status, _encode(chat_error_body(error))


CHAT = ChatDialect()
