"""Open Responses request -> the upstream request body, for both modes. Pure: no I/O, no clock.

``responses`` mode is a near pass-through that sends only what the Responses API
accepts under ``store=False``; ``chat_completions`` mode rebuilds the conversation as chat
messages. Both return the keyword arguments of the SDK's ``create`` call (a plain dict).
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway_core import InvalidRequestError
from gateway_core.envelope import is_envelope
from gateway_core.translate import (
    file_source,
    function_tools,
    image_source,
    message_text,
    refusal_text,
    tool_output_text,
)
from gateway_core.types import (
    AllowedTools,
    Compaction,
    CustomChoice,
    CustomToolCall,
    CustomToolCallOutput,
    FunctionCall,
    FunctionCallOutput,
    FunctionChoice,
    FunctionTool,
    HostedItem,
    InputFile,
    InputImage,
    InputText,
    Message,
    OutputText,
    Reasoning,
    Refusal,
    ResponseRequest,
    TextFormatJsonObject,
    TextFormatJsonSchema,
    TextSettings,
    Tool,
    WebSearchCall,
)

from .options import Options

ENCRYPTED_REASONING = "reasoning.encrypted_content"

# ------------------------------------------------------------------------------------------------------------
# Responses API


def to_responses(request: ResponseRequest, model: str) -> dict[str, Any]:
    """The ``responses.create`` body: ``store=False``, no item ids, no foreign reasoning, no penalties."""
    body: dict[str, Any] = {"model": model, "input": _responses_input(request), "store": False}
    include = list(request.include)
    if ENCRYPTED_REASONING not in include:
        include.append(ENCRYPTED_REASONING)
    body["include"] = include
    if request.instructions is not None:
        body["instructions"] = request.instructions
    if request.tools:
        body["tools"] = [_responses_tool(tool) for tool in request.tools]
    choice = request.tool_choice
    if choice is not None:
        if type(choice) is FunctionChoice or type(choice) is CustomChoice:
            body["tool_choice"] = msgspec.to_builtins(choice)
        elif type(choice) is AllowedTools:
            body["tool_choice"] = {
                "type": "allowed_tools",
                "mode": choice.mode,
                "tools": [{"type": "function", "name": tool.name} for tool in choice.tools],
            }
        else:
            body["tool_choice"] = choice
    if request.text is not None:
        body["text"] = _responses_text(request.text)
    if request.reasoning is not None:
        reasoning = {key: value for key, value in (("effort", request.reasoning.effort),
                                                   ("summary", request.reasoning.summary)) if value is not None}
        if reasoning:
            body["reasoning"] = reasoning
    for key in _RESPONSES_SCALARS:
        value = getattr(request, key)
        if value is not None:
            body[key] = value
    return body


_RESPONSES_SCALARS = (
    "parallel_tool_calls", "max_tool_calls", "temperature", "top_p", "top_logprobs", "max_output_tokens",
    "metadata", "safety_identifier", "prompt_cache_key", "truncation", "service_tier", "user",
)


def _responses_input(request: ResponseRequest) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for index, item in enumerate(request.items):
        kind = type(item)
        if kind is Message:
            message: dict[str, Any] = {
                "type": "message",
                "role": item.role,  # type: ignore[union-attr]
                "content": [_responses_part(part, f"input[{index}].content[{n}]")
                            for n, part in enumerate(item.content)],  # type: ignore[union-attr, arg-type]
            }
            if item.phase is not None and item.role == "assistant":  # type: ignore[union-attr]
                message["phase"] = item.phase  # type: ignore[union-attr]
            items.append(message)
        elif kind is FunctionCall:
            call: dict[str, Any] = {"type": "function_call", "call_id": item.call_id,  # type: ignore[union-attr]
                                    "name": item.name, "arguments": item.arguments}  # type: ignore[union-attr]
            if item.namespace is not None:  # type: ignore[union-attr]
                call["namespace"] = item.namespace  # type: ignore[union-attr]
            items.append(call)
        elif kind is FunctionCallOutput:
            output = item.output  # type: ignore[union-attr]
            out: dict[str, Any] = {
                "type": "function_call_output",
                "call_id": item.call_id,  # type: ignore[union-attr]
                "output": output if isinstance(output, str) else [
                    _responses_part(part, f"input[{index}].output[{n}]") for n, part in enumerate(output)
                ],
            }
            if item.name:  # type: ignore[union-attr]
                out["name"] = item.name  # type: ignore[union-attr]
            items.append(out)
        elif kind is Reasoning:
            blob = item.encrypted_content  # type: ignore[union-attr]
            # Without OpenAI's own blob a reasoning item cannot be resolved under store=False; a gateway
            # envelope belongs to another provider. Either way: drop it. ``content`` is never sent.
            if not blob or is_envelope(blob):
                continue
            reasoning: dict[str, Any] = {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": part.text} for part in item.summary],  # type: ignore[union-attr]
                "encrypted_content": blob,
            }
            if item.id:  # type: ignore[union-attr]
                reasoning["id"] = item.id  # type: ignore[union-attr]
            items.append(reasoning)
        elif kind is Compaction:  # OpenAI's own (the core only lets those through to this provider)
            items.append({"type": "compaction", "encrypted_content": item.encrypted_content})  # type: ignore[union-attr]
        elif kind is CustomToolCall or kind is CustomToolCallOutput:  # no item ids under store=False
            whole = msgspec.to_builtins(item)
            whole.pop("id", None)
            items.append(whole)
        elif kind is WebSearchCall or isinstance(item, HostedItem):  # OpenAI's own items, as they came
            items.append(msgspec.to_builtins(item))
    return items


def to_compact(request: ResponseRequest, model: str) -> dict[str, Any]:
    """The ``responses/compact`` body: the conversation as Responses input items, and the instructions."""
    body: dict[str, Any] = {"model": model, "input": _responses_input(request)}
    if request.instructions is not None:
        body["instructions"] = request.instructions
    return body


def _responses_part(part: Any, param: str) -> dict[str, Any]:
    kind = type(part)
    if kind is InputText:
        return {"type": "input_text", "text": part.text}
    if kind is OutputText:
        return {"type": "output_text", "text": part.text, "annotations": []}
    if kind is Refusal:
        return {"type": "refusal", "refusal": part.refusal}
    if kind is InputImage:
        image: dict[str, Any] = {"type": "input_image", "detail": part.detail or "auto"}
        if part.image_url:
            image["image_url"] = part.image_url
        elif part.file_id:
            image["file_id"] = part.file_id
        else:
            raise InvalidRequestError("input_image needs an image_url or a file_id", code="invalid_value",
                                      param=param)
        return image
    file: dict[str, Any] = {"type": "input_file"}
    for key in ("filename", "file_data", "file_url", "file_id"):
        value = getattr(part, key)
        if value is not None:
            file[key] = value
    return file


def _responses_tool(tool: Tool) -> dict[str, Any]:
    if type(tool) is not FunctionTool:  # namespace, custom, web search, hosted tools: OpenAI's own, as sent
        return msgspec.to_builtins(tool)  # type: ignore[no-any-return]
    function = {"type": "function", "name": tool.name, "description": tool.description,
                "parameters": tool.parameters, "strict": tool.strict}
    if tool.defer_loading is not msgspec.UNSET:
        function["defer_loading"] = tool.defer_loading
    return function


def _responses_text(text: TextSettings) -> dict[str, Any]:
    fmt = text.format
    out: dict[str, Any]
    if type(fmt) is TextFormatJsonSchema:
        out = {"format": {"type": "json_schema", "name": fmt.name, "schema": fmt.schema or {},
                          "strict": fmt.strict}}
        if fmt.description is not None:
            out["format"]["description"] = fmt.description
    elif type(fmt) is TextFormatJsonObject:
        out = {"format": {"type": "json_object"}}
    else:
        out = {"format": {"type": "text"}}
    if text.verbosity is not None:
        out["verbosity"] = text.verbosity
    return out


# ------------------------------------------------------------------------------------------------------------
# Chat Completions


def to_chat(request: ResponseRequest, model: str, options: Options) -> dict[str, Any]:
    """The ``chat.completions.create`` body, for the instance's dialect."""
    openai = options.openai_dialect
    body: dict[str, Any] = {"model": model, "messages": _chat_messages(request, openai)}
    tools = function_tools(request)
    choice = request.tool_choice
    if type(choice) is AllowedTools:
        if openai:
            body["tool_choice"] = "none" if choice.mode == "none" else {
                "type": "allowed_tools",
                "allowed_tools": {"mode": choice.mode,
                                  "tools": [{"type": "function", "function": {"name": tool.name}}
                                            for tool in choice.tools]},
            }
        else:  # no native filter: the upstream sees only the allowed tools
            allowed = {tool.name for tool in choice.tools}
            tools = [tool for tool in tools if tool.name in allowed]
            body["tool_choice"] = choice.mode
    elif type(choice) is FunctionChoice:
        body["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    elif choice is not None:
        body["tool_choice"] = choice
    if tools:
        body["tools"] = [_chat_tool(tool, options.tool_strict) for tool in tools]
        if request.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = request.parallel_tool_calls
    elif "tool_choice" in body:
        del body["tool_choice"]  # a tool_choice without tools is a 400 on most servers
    for key in ("temperature", "top_p", "presence_penalty", "frequency_penalty", "stop"):
        value = getattr(request, key)
        if value is not None:
            body[key] = value
    if request.max_output_tokens is not None:
        body[options.max_tokens_param or "max_tokens"] = request.max_output_tokens
    text = request.text
    if text is not None:
        fmt = text.format
        if type(fmt) is TextFormatJsonSchema:
            schema: dict[str, Any] = {"name": fmt.name, "schema": fmt.schema or {}, "strict": fmt.strict}
            if fmt.description is not None:
                schema["description"] = fmt.description
            body["response_format"] = {"type": "json_schema", "json_schema": schema}
        elif type(fmt) is TextFormatJsonObject:
            body["response_format"] = {"type": "json_object"}
        if text.verbosity is not None and openai:
            body["verbosity"] = text.verbosity
    reasoning = request.reasoning
    if reasoning is not None and reasoning.effort is not None and options.effort_for(model):
        body["reasoning_effort"] = reasoning.effort
    if request.safety_identifier is not None:
        body["safety_identifier" if openai else "user"] = request.safety_identifier
    if request.user is not None:
        body["user"] = request.user
    if openai:
        if request.prompt_cache_key is not None:
            body["prompt_cache_key"] = request.prompt_cache_key
        if request.service_tier is not None:
            body["service_tier"] = request.service_tier
    return body


def _chat_messages(request: ResponseRequest, openai: bool) -> list[dict[str, Any]]:
    system: list[dict[str, Any]] = []
    if request.instructions:
        system.append({"role": "system", "content": request.instructions})
    messages: list[dict[str, Any]] = []
    deferred: list[dict[str, Any]] = []  # image/file parts of tool outputs: a user message after the tool run
    for index, item in enumerate(request.items):
        kind = type(item)
        if kind is FunctionCallOutput:
            messages.append(_chat_tool_message(item, index, deferred))  # type: ignore[arg-type]
            continue
        if deferred:
            messages.append({"role": "user", "content": deferred})
            deferred = []
        if kind is Message:
            role = item.role  # type: ignore[union-attr]
            if role in ("system", "developer"):
                text = message_text(item)  # type: ignore[arg-type]
                if text:
                    system.append({"role": "developer" if role == "developer" and openai else "system",
                                   "content": text})
            elif role == "assistant":
                messages.append(_chat_assistant(item, openai))  # type: ignore[arg-type]
            else:
                messages.append({"role": "user", "content": _chat_user_content(item, index)})  # type: ignore[arg-type]
        elif kind is FunctionCall:
            last = messages[-1] if messages else None
            if last is None or last["role"] != "assistant":
                last = {"role": "assistant", "content": None}
                messages.append(last)
            last.setdefault("tool_calls", []).append({
                "id": item.call_id,  # type: ignore[union-attr]
                "type": "function",
                "function": {"name": item.name, "arguments": item.arguments},  # type: ignore[union-attr]
            })
        # reasoning items: dropped (chat servers take no reasoning input)
    if deferred:
        messages.append({"role": "user", "content": deferred})
    if len(system) > 1 and not openai:  # one system turn first: many chat templates reject more
        system = [{"role": "system", "content": "\n\n".join(message["content"] for message in system)}]
    return system + messages


def _chat_assistant(message: Message, openai: bool) -> dict[str, Any]:
    text = message_text(message)
    out: dict[str, Any] = {"role": "assistant", "content": text or None}
    if openai:
        refusal = refusal_text(message)
        if refusal:
            out["refusal"] = refusal
    return out


def _chat_user_content(message: Message, index: int) -> str | list[dict[str, Any]]:
    parts = message.content
    if all(type(part) is InputText or type(part) is OutputText for part in parts):
        return message_text(message)
    return [_chat_part(part, f"input[{index}].content[{n}]")
            for n, part in enumerate(parts) if type(part) is not Refusal]  # type: ignore[union-attr]


def _chat_part(part: Any, param: str) -> dict[str, Any]:
    kind = type(part)
    if kind is InputText or kind is OutputText:
        return {"type": "text", "text": part.text}
    if kind is InputImage:
        source = image_source(part, param)
        url = source if isinstance(source, str) else part.image_url
        image: dict[str, Any] = {"url": url}
        if part.detail is not None:
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    if kind is InputFile:
        source = file_source(part, param)
        if isinstance(source, str):
            raise InvalidRequestError("Chat Completions takes files only inline (file_data as a data URL)",
                                      code="unsupported_parameter", param=param)
        file: dict[str, Any] = {"file_data": part.file_data}
        if part.filename:
            file["filename"] = part.filename
        return {"type": "file", "file": file}
    raise InvalidRequestError(f"unsupported content part {kind.__name__}", code="invalid_value", param=param)


def _chat_tool_message(item: FunctionCallOutput, index: int, deferred: list[dict[str, Any]]) -> dict[str, Any]:
    output = item.output
    if not isinstance(output, str):
        deferred.extend(_chat_part(part, f"input[{index}].output[{n}]")
                        for n, part in enumerate(output) if type(part) is not InputText)
    return {"role": "tool", "tool_call_id": item.call_id, "content": tool_output_text(item)}


def _chat_tool(tool: FunctionTool, strict: bool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    function["parameters"] = tool.parameters if tool.parameters is not None else {"type": "object", "properties": {}}
    if strict and tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}
