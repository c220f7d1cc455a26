"""Open Responses request -> keyword arguments of ``client.messages.create`` (pure: no I/O, no clock).

The mapping (the comments name the rule where the API is strict):

- ``instructions`` and system/developer messages fold into ``system`` text blocks (their position is lost).
- Items become ``messages``: a run of assistant-side items (reasoning, assistant text, function calls) is one
  assistant turn, blocks in item order; function call outputs become ``tool_result`` blocks placed FIRST in
  the user turn that follows (text and images of a following user message come after them); consecutive
  same-role turns merge; empty text blocks and empty turns are dropped; the first turn is a user turn.
- Reasoning items round-trip through the gateway envelope: only envelopes sealed for ``anthropic`` are sent
  back (byte-exact ``thinking`` + ``signature``, or ``redacted_thinking`` ``data``), at their position.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

from gateway_core import InvalidRequestError
from gateway_core.envelope import open_envelope
from gateway_core.translate import file_source, function_tools, image_source, safe_call_id, system_texts
from gateway_core.types import (
    AllowedTools,
    FunctionCall,
    FunctionCallOutput,
    FunctionChoice,
    InputFile,
    InputImage,
    InputText,
    Message,
    OutputText,
    Reasoning,
    ResponseRequest,
    TextFormatJsonObject,
    TextFormatJsonSchema,
    WebSearchTool,
)

from .options import AnthropicOptions

PROVIDER = "anthropic"
"""``max_tokens`` when the client sets no ``max_output_tokens`` (instance option ``default_max_tokens``)."""

THINKING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32768}
"""``reasoning.effort`` -> ``thinking.budget_tokens`` (budget models)."""

MIN_THINKING_BUDGET = 1024
IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
JSON_OBJECT_INSTRUCTION = "Reply with one valid JSON object and nothing else: no prose, no code fences."
_TOOL_CHOICE = {"auto": "auto", "required": "any", "none": "none"}
_SERVICE_TIER = {"auto": "auto", "priority": "auto", "default": "standard_only"}
_THINKING_BLOCKS = ("thinking", "redacted_thinking")
_json_decode = msgspec.json.decode


class _Turn:
    """One ``messages`` entry being assembled; a user turn keeps its tool results apart so they go first."""

    __slots__ = ("blocks", "results", "role")

    def __init__(self, role: str) -> None:
        self.role = role
        self.results: list[dict[str, Any]] = []
        self.blocks: list[dict[str, Any]] = []

    def content(self) -> list[dict[str, Any]]:
        return self.results + self.blocks if self.results else self.blocks


def translate(request: ResponseRequest, model: str, options: AnthropicOptions) -> dict[str, Any]:
    """The keyword arguments of ``client.messages.create`` for ``request`` sent to ``model``."""
    messages, history_tools = _messages(request)
    native: dict[str, Any] = {"model": model, "messages": messages}
    extra_body: dict[str, Any] = {}

    system = system_texts(request)
    output_config: dict[str, Any] = {}
    text = request.text
    if text is not None:
        fmt = text.format
        if type(fmt) is TextFormatJsonSchema:
            output_config["format"] = {"type": "json_schema", "schema": fmt.schema or {"type": "object"}}
        elif type(fmt) is TextFormatJsonObject:
            system.append(JSON_OBJECT_INSTRUCTION)
    if system:
        native["system"] = [{"type": "text", "text": part} for part in system]

    client_max = request.max_output_tokens
    max_tokens = client_max or options.default_max_tokens

    tool_choice = _tools(request, native, history_tools)
    forced = tool_choice is not None and tool_choice["type"] in ("any", "tool")

    thinking_on = False
    reasoning = request.reasoning
    effort = reasoning.effort if reasoning is not None else None
    if effort is not None and effort != "none" and not forced and not _missing_thinking(messages):
        if model.startswith(options.adaptive_thinking_models):
            native["thinking"] = {"type": "adaptive"}
            output_config["effort"] = "low" if effort == "minimal" else effort
            thinking_on = True
        else:
            budget = THINKING_BUDGETS[effort]
            if client_max is None:
                max_tokens += budget  # the default is the answer's share; thinking comes on top
            else:
                budget = min(budget, client_max - MIN_THINKING_BUDGET)
            if budget >= MIN_THINKING_BUDGET:
                native["thinking"] = {"type": "enabled", "budget_tokens": budget}
                thinking_on = True
        if thinking_on and reasoning is not None and reasoning.summary is not None:
            native["thinking"]["display"] = "summarized"
    native["max_tokens"] = max_tokens
    if output_config:
        native["output_config"] = output_config

    if request.stop:
        native["stop_sequences"] = [request.stop] if isinstance(request.stop, str) else list(request.stop)
    user = request.safety_identifier or request.user
    if user:
        native["metadata"] = {"user_id": user}
    tier = _SERVICE_TIER.get(request.service_tier or "")
    if tier is not None:
        native["service_tier"] = tier

    if options.sampling_params and not thinking_on:
        # Claude 4.x rejects temperature and top_p together: temperature wins.
        if request.temperature is not None:
            extra_body["temperature"] = request.temperature
        elif request.top_p is not None:
            extra_body["top_p"] = request.top_p
    if extra_body:
        native["extra_body"] = extra_body
    return native


def _missing_thinking(messages: list[dict[str, Any]]) -> bool:
    """Whether the last assistant turn used tools without its thinking block (the client dropped reasoning
    items): extended thinking would then be rejected, so this call goes without it."""
    for message in reversed(messages):
        if message["role"] != "assistant":
            continue
        content = message["content"]
        uses_tools = any(block["type"] == "tool_use" for block in content)
        return uses_tools and content[0]["type"] not in _THINKING_BLOCKS
    return False


# -- tools --------------------------------------------------------------------------------------------------


def _tools(request: ResponseRequest, native: dict[str, Any], history_tools: list[str]) -> dict[str, Any] | None:
    """Fill ``tools`` / ``tool_choice``; returns the tool_choice sent (or ``None``)."""
    tools = function_tools(request)
    choice = request.tool_choice
    mode: str | None = None
    forced_name = ""
    if type(choice) is AllowedTools:
        allowed = {tool.name for tool in choice.tools}
        tools = [tool for tool in tools if tool.name in allowed]
        mode = _TOOL_CHOICE[choice.mode]
    elif isinstance(choice, FunctionChoice):
        mode, forced_name = "tool", choice.name
    elif isinstance(choice, str):
        mode = _TOOL_CHOICE[choice]

    searches = [_web_search(tool) for tool in request.tools or () if isinstance(tool, WebSearchTool)]
    if not tools and not searches:
        if not history_tools:
            return None
        # The API rejects tool_use/tool_result blocks without tool definitions: declare them, forbid calls.
        native["tools"] = [
            {"name": name, "description": "(not available in this turn)", "input_schema": EMPTY_SCHEMA}
            for name in history_tools
        ]
        native["tool_choice"] = {"type": "none"}
        return native["tool_choice"]

    declared = []
    for tool in tools:
        entry: dict[str, Any] = {"name": tool.name, "input_schema": tool.parameters or EMPTY_SCHEMA}
        if tool.description:
            entry["description"] = tool.description
        declared.append(entry)
    native["tools"] = declared + searches

    tool_choice: dict[str, Any] | None = None
    if mode == "tool":
        tool_choice = {"type": "tool", "name": forced_name}
    elif mode is not None:
        tool_choice = {"type": mode}
    if request.parallel_tool_calls is False and (tool_choice is None or tool_choice["type"] != "none"):
        tool_choice = tool_choice or {"type": "auto"}
        tool_choice["disable_parallel_tool_use"] = True
    if tool_choice is not None:
        native["tool_choice"] = tool_choice
    return tool_choice


WEB_SEARCH_TOOL = "web_search_20250305"
"""Anthropic's server-side web search tool (what OpenAI's ``web_search`` tools become)."""


def _web_search(tool: WebSearchTool) -> dict[str, Any]:
    """Anthropic's web search tool for an OpenAI ``web_search`` tool: ``filters.allowed_domains`` and an
    approximate ``user_location`` carry over; the rest (``search_context_size`` ...) has no equivalent."""
    search: dict[str, Any] = {"type": WEB_SEARCH_TOOL, "name": "web_search"}
    filters = tool.filters if isinstance(tool.filters, dict) else {}
    if filters.get("allowed_domains"):
        search["allowed_domains"] = list(filters["allowed_domains"])
    location = tool.user_location if isinstance(tool.user_location, dict) else {}
    fields = {key: location[key] for key in ("city", "region", "country", "timezone") if location.get(key)}
    if fields:
        search["user_location"] = {"type": "approximate", **fields}
    return search


# -- messages -----------------------------------------------------------------------------------------------


def _messages(request: ResponseRequest) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``messages`` list, and the tool names used in it (for stub tool definitions)."""
    turns: list[_Turn] = []
    tool_names: list[str] = []
    dropped_calls: set[str] = set()

    def turn(role: str) -> _Turn:
        if turns and turns[-1].role == role:
            return turns[-1]
        new = _Turn(role)
        turns.append(new)
        return new

    for index, item in enumerate(request.items):
        if isinstance(item, Message):
            if item.role in ("system", "developer"):
                continue
            role = "assistant" if item.role == "assistant" else "user"
            blocks = _content_blocks(item.content, f"input[{index}].content")  # type: ignore[arg-type]
            if blocks:
                turn(role).blocks.extend(blocks)
        elif isinstance(item, FunctionCall):
            if item.status == "incomplete":
                dropped_calls.add(item.call_id)
                continue
            turn("assistant").blocks.append({
                "type": "tool_use",
                "id": safe_call_id(item.call_id),
                "name": item.name,
                "input": _arguments(item.arguments, f"input[{index}].arguments"),
            })
            if item.name not in tool_names:
                tool_names.append(item.name)
        elif isinstance(item, FunctionCallOutput):
            if item.call_id in dropped_calls:
                continue
            turn("user").results.append({
                "type": "tool_result",
                "tool_use_id": safe_call_id(item.call_id),
                "content": _tool_result_content(item.output, f"input[{index}].output"),
            })
        elif isinstance(item, Reasoning):
            thinking = _thinking_block(item.encrypted_content)
            if thinking is not None:
                turn("assistant").blocks.append(thinking)

    messages = [{"role": t.role, "content": t.content()} for t in turns if t.results or t.blocks]
    if not messages:
        raise InvalidRequestError("input must contain at least one user or assistant message",
                                  code="invalid_value", param="input")
    if messages[0]["role"] != "user":
        # The Messages API wants the conversation to open with a user turn.
        messages.insert(0, {"role": "user", "content": [{"type": "text", "text": "(continue)"}]})
    return messages, tool_names


def _thinking_block(blob: str | None) -> dict[str, Any] | None:
    """The thinking block sealed in ``blob`` for this provider (``None`` for anything else: foreign or
    corrupt envelopes are dropped, never sent)."""
    data = open_envelope(blob, PROVIDER)
    if data is None:
        return None
    kind = data.get("t")
    if kind == "thinking" and isinstance(data.get("signature"), str):
        return {"type": "thinking", "thinking": data.get("thinking") or "", "signature": data["signature"]}
    if kind == "redacted" and isinstance(data.get("data"), str):
        return {"type": "redacted_thinking", "data": data["data"]}
    return None


def _arguments(arguments: str, param: str) -> dict[str, Any]:
    """``tool_use.input``: the call's JSON arguments, which must be an object."""
    if not arguments.strip():
        return {}
    try:
        value = _json_decode(arguments)
    except msgspec.DecodeError:
        raise InvalidRequestError("function_call arguments must be a JSON object", code="invalid_value",
                                  param=param) from None
    if not isinstance(value, dict):
        raise InvalidRequestError("function_call arguments must be a JSON object", code="invalid_value",
                                  param=param)
    return value


def _content_blocks(parts: list[Any], param: str) -> list[dict[str, Any]]:
    blocks = []
    for index, part in enumerate(parts):
        kind = type(part)
        if kind is InputText or kind is OutputText:
            if part.text:  # "text content blocks must be non-empty"
                blocks.append({"type": "text", "text": part.text})
        elif kind is InputImage:
            blocks.append(_image_block(part, f"{param}[{index}]"))
        elif kind is InputFile:
            blocks.append(_document_block(part, f"{param}[{index}]"))
        # refusal parts of replayed assistant messages have no Anthropic block: dropped
    return blocks


def _tool_result_content(output: str | list[Any], param: str) -> str | list[dict[str, Any]]:
    if isinstance(output, str):
        return output
    return _content_blocks(output, param)


def _image_block(part: InputImage, param: str) -> dict[str, Any]:
    source = image_source(part, param)
    if isinstance(source, str):
        if not source.startswith(("https://", "http://")):
            raise InvalidRequestError("image_url must be an https URL or a base64 data URL", code="invalid_value",
                                      param=param)
        return {"type": "image", "source": {"type": "url", "url": source}}
    media_type, data = source
    if media_type not in IMAGE_MEDIA_TYPES:
        raise InvalidRequestError(
            f"image type {media_type} is not supported (jpeg, png, gif or webp)", code="invalid_value", param=param
        )
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _document_block(part: InputFile, param: str) -> dict[str, Any]:
    source = file_source(part, param)
    block: dict[str, Any]
    if isinstance(source, str):
        block = {"type": "document", "source": {"type": "url", "url": source}}
    else:
        media_type, data = source
        if media_type == "application/pdf":
            block = {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}
        elif media_type == "text/plain":
            try:
                text = base64.b64decode(data, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise InvalidRequestError("file_data is not base64 UTF-8 text", code="invalid_value",
                                          param=param) from None
            block = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": text}}
        else:
            raise InvalidRequestError(f"file type {media_type} is not supported (PDF or plain text)",
                                      code="invalid_value", param=param)
    if part.filename:
        block["title"] = part.filename
    return block
