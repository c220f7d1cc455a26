"""The response resource's echo of the request: every required key, defaults filled, nothing omitted."""

from __future__ import annotations

import time

import msgspec

from .ids import new_id
from .types import (
    AllowedTools,
    CustomChoice,
    CustomTool,
    FunctionChoice,
    FunctionTool,
    HostedTool,
    NamespaceTool,
    ResponseRequest,
    ResponseResource,
    TextField,
    TextFormatText,
)


def new_resource(request: ResponseRequest, *, store: bool = False) -> ResponseResource:
    """An ``in_progress`` resource echoing ``request`` (the model string as the client sent it)."""
    text = request.text
    return ResponseResource(
        id=new_id("resp"),
        created_at=int(time.time()),
        model=request.model,  # type: ignore[arg-type]
        previous_response_id=request.previous_response_id,
        instructions=request.instructions,
        tools=_echoed_tools(request),
        tool_choice=request.tool_choice if request.tool_choice is not None else "auto",
        truncation=request.truncation or "disabled",
        parallel_tool_calls=request.parallel_tool_calls if request.parallel_tool_calls is not None else True,
        text=TextField(format=text.format, verbosity=text.verbosity) if text else TextField(TextFormatText()),
        top_p=request.top_p if request.top_p is not None else 1.0,
        presence_penalty=request.presence_penalty or 0.0,
        frequency_penalty=request.frequency_penalty or 0.0,
        top_logprobs=request.top_logprobs or 0,
        temperature=request.temperature if request.temperature is not None else 1.0,
        reasoning=request.reasoning,
        max_output_tokens=request.max_output_tokens,
        max_tool_calls=request.max_tool_calls,
        store=store,
        service_tier=request.service_tier if request.service_tier not in (None, "auto") else "default",
        metadata=request.metadata or {},
        safety_identifier=request.safety_identifier,
        prompt_cache_key=request.prompt_cache_key,
    )


_SECRET_TOOL_FIELDS = ("authorization", "headers")
"""Fields of hosted tools (``mcp``) that carry credentials: sent upstream, never echoed or stored."""


def _echoed_tools(request: ResponseRequest) -> list:  # type: ignore[type-arg]
    tools = request.tools
    if not tools:
        return []
    if not any(isinstance(tool, HostedTool) for tool in tools):
        return tools
    return [msgspec.structs.replace(tool, **{name: msgspec.UNSET for name in _SECRET_TOOL_FIELDS
                                            if name in tool.__struct_fields__})
            if isinstance(tool, HostedTool) else tool for tool in tools]


def _callable_names(request: ResponseRequest) -> frozenset[str]:
    names: set[str] = set()
    for tool in request.tools or ():
        kind = type(tool)
        if kind is FunctionTool or kind is CustomTool:
            names.add(tool.name)  # type: ignore[union-attr]
        elif kind is NamespaceTool:
            names.update(inner.name for inner in tool.tools)  # type: ignore[union-attr]
    return frozenset(names)


_NO_NAMES: frozenset[str] = frozenset()


def allowed_tool_names(request: ResponseRequest) -> frozenset[str]:
    """The functions the model may call in this request: declared, and within ``allowed_tools`` if given."""
    if not request.tools:
        return _NO_NAMES
    declared = _callable_names(request)
    choice = request.tool_choice
    if choice == "none":
        return frozenset()
    if type(choice) is AllowedTools:
        if choice.mode == "none":
            return frozenset()
        return declared & frozenset(tool.name for tool in choice.tools)
    if type(choice) is FunctionChoice or type(choice) is CustomChoice:
        return declared & {choice.name}
    return declared
