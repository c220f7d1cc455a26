"""Fit a request's tools and tool items to what the target's provider runs, before the plugin translates.

OpenAI's Responses API has tool types besides ``function`` (``namespace``, ``custom``, ``web_search``,
``tool_search``, ``local_shell`` ...), and agents such as Codex CLI always send some. A provider says which it
runs itself in ``Capabilities.tool_types`` (``"*"``: all of them, passed on as they are). For the others the
core rewrites the request once per target, so every plugin sees only what it declared:

- ``namespace`` tools become plain functions named ``<namespace>__<name>``; their calls go back to the client
  under their own name with ``namespace`` set, and replayed calls are renamed on the way in;
- ``custom`` tools become functions taking one string ``input`` (the grammar, if any, in the description);
  their calls go back as ``custom_tool_call`` items, and replayed ``custom_tool_call`` /
  ``custom_tool_call_output`` items become function calls and outputs;
- any other tool is unsupported: ``routing.unsupported_tools: drop`` (the default, so that agents work) leaves
  it out, logs it and names it in the ``x-gateway-dropped-tools`` header; ``refuse`` answers 400 naming every
  such tool. Replayed items of tools the provider does not run (``web_search_call`` ...) are left out.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from msgspec import Struct

from .errors import InvalidRequestError
from .types import (
    HOSTED_ITEM_TYPES,
    WEB_SEARCH_TOOLS,
    CustomChoice,
    CustomTool,
    CustomToolCall,
    CustomToolCallOutput,
    FunctionCall,
    FunctionCallOutput,
    FunctionChoice,
    FunctionTool,
    HostedItem,
    HostedTool,
    InputItem,
    NamespaceTool,
    ResponseRequest,
    Tool,
    WebSearchCall,
)

SEPARATOR = "__"
"""Between a namespace and a function name in the flattened function's name."""

EVERY_TOOL = "*"
"""In ``Capabilities.tool_types``: the provider runs every OpenAI Responses tool and item type itself."""


class CallOrigin(Struct, frozen=True, gc=False):
    """What a flattened function stands for: ``name`` in ``namespace``, and whether it is a custom tool."""

    name: str
    namespace: str | None = None
    custom: bool = False


class ToolPlan(Struct):
    """A request fitted to one provider: what the plugin translates, how calls map back, what was dropped."""

    request: ResponseRequest
    origins: dict[str, CallOrigin]
    """Flattened function name -> the tool the client declared."""
    dropped: list[str]
    """The tools left out, as ``"tools[3] (web_search)"``."""


_PLANNED_ITEMS = frozenset((CustomToolCall, CustomToolCallOutput, WebSearchCall, HostedItem, *HOSTED_ITEM_TYPES))
"""Item types that need a plan (the hosted ones are HostedItem's subclasses)."""


def needs_plan(request: ResponseRequest) -> bool:
    """Whether the request has anything but function tools and standard items (most requests have not)."""
    for tool in request.tools or ():
        if type(tool) is not FunctionTool:
            return True
    kinds = set(map(type, request.items))  # in C: a long history is not walked in Python
    if not kinds.isdisjoint(_PLANNED_ITEMS):
        return True
    return FunctionCall in kinds and any(type(item) is FunctionCall and item.namespace is not None  # type: ignore[union-attr]
                                         for item in request.items)


def tool_kind(tool: Tool) -> str:
    """A tool's ``type``."""
    return tool.kind if isinstance(tool, HostedTool) else type(tool).__struct_config__.tag  # type: ignore[return-value]


def plan_tools(request: ResponseRequest, runs: frozenset[str], refuse: bool, provider: str) -> ToolPlan | None:
    """The request as provider ``provider`` (running the tool types ``runs``) gets it, or None when it runs
    everything. With ``refuse``, a tool it cannot run is a 400 naming every such tool."""
    if EVERY_TOOL in runs:
        return None
    origins: dict[str, CallOrigin] = {}
    tools: list[Tool] = []
    unsupported: list[str] = []
    for index, tool in enumerate(request.tools or ()):
        kind = type(tool)
        if kind is FunctionTool:
            tools.append(tool)
        elif kind is CustomTool and "custom" not in runs:
            tools.append(_custom_as_function(tool, tool.name))  # type: ignore[arg-type, union-attr]
            origins[tool.name] = CallOrigin(tool.name, custom=True)  # type: ignore[union-attr]
        elif kind is NamespaceTool and "namespace" not in runs:
            for inner in tool.tools:  # type: ignore[union-attr]
                flat = tool.name + SEPARATOR + inner.name  # type: ignore[union-attr]
                custom = type(inner) is CustomTool
                tools.append(_custom_as_function(inner, flat) if custom else  # type: ignore[arg-type]
                             msgspec.structs.replace(inner, name=flat))  # type: ignore[type-var]
                origins[flat] = CallOrigin(inner.name, tool.name, custom)  # type: ignore[union-attr]
        elif tool_kind(tool) in runs or (kind in WEB_SEARCH_TOOLS and "web_search" in runs):
            tools.append(tool)
        else:
            unsupported.append(f"tools[{index}] ({tool_kind(tool)})")
    if unsupported and refuse:
        raise InvalidRequestError(
            f"provider '{provider}' cannot run these tools: {', '.join(unsupported)}",
            code="unsupported_tool", param=unsupported[0].split(" ", 1)[0])
    flat_names = {(origin.namespace, origin.name): flat for flat, origin in origins.items()}
    items = [fitted for item in request.items
             if (fitted := _fit_item(item, flat_names, "web_search" in runs)) is not None]
    fitted_request = msgspec.structs.replace(
        request, tools=tools or None, input=items,
        tool_choice=_fit_choice(request.tool_choice, runs))
    return ToolPlan(fitted_request, origins, unsupported)


def _custom_as_function(tool: CustomTool | FunctionTool, name: str) -> FunctionTool:
    """A custom tool as a function taking its freeform text as ``input``."""
    if type(tool) is FunctionTool:
        return msgspec.structs.replace(tool, name=name)
    description = tool.description or ""
    grammar = (tool.format or {}).get("definition") if isinstance(tool, CustomTool) else None
    if grammar:
        syntax = (tool.format or {}).get("syntax", "grammar")  # type: ignore[union-attr]
        description = f"{description}\n\nThe input must follow this {syntax} grammar:\n{grammar}".strip()
    return FunctionTool(name=name, description=description or None, strict=None, parameters={
        "type": "object",
        "properties": {"input": {"type": "string", "description": "The tool's freeform input."}},
        "required": ["input"],
        "additionalProperties": False,
    })


def _fit_item(item: InputItem, flat_names: dict[tuple[str | None, str], str], web_search: bool) -> InputItem | None:
    kind = type(item)
    if kind is FunctionCall:
        namespace = item.namespace  # type: ignore[union-attr]
        if namespace is None:
            return item
        call: FunctionCall = item  # type: ignore[assignment]
        name = flat_names.get((namespace, call.name), namespace + SEPARATOR + call.name)
        return msgspec.structs.replace(item, name=name, namespace=None)  # type: ignore[type-var]
    if kind is CustomToolCall:
        custom: CustomToolCall = item  # type: ignore[assignment]
        name = flat_names.get((custom.namespace, custom.name), custom.name)
        return FunctionCall(call_id=custom.call_id, name=name, arguments=json.dumps({"input": custom.input}),
                            id=custom.id, status=custom.status)
    if kind is CustomToolCallOutput:
        output: CustomToolCallOutput = item  # type: ignore[assignment]
        return FunctionCallOutput(call_id=output.call_id, output=output.output, id=output.id, status=output.status)
    if kind is WebSearchCall:
        return item if web_search else None
    if isinstance(item, HostedItem):
        return None
    return item


def _fit_choice(choice: Any, runs: frozenset[str]) -> Any:
    """``tool_choice`` for the fitted tools: a forced custom tool becomes its function."""
    if type(choice) is CustomChoice and "custom" not in runs:
        return FunctionChoice(choice.name)
    return choice
