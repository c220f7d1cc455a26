"""The core's table of OpenAI Responses tool and item types (``gateway_core.types``) holds every field the
openai SDK knows for each, so a tool or item passed on to OpenAI loses nothing."""

from __future__ import annotations

import re
import typing

import pytest
from openai.types.responses import response_input_item_param, response_output_item, tool_param

from gateway_core.types import HOSTED_ITEM_FIELDS, HOSTED_TOOL_FIELDS


def _members(union: object) -> list[type]:
    out: list[type] = []
    for arg in typing.get_args(union):
        if typing.get_origin(arg) is typing.Annotated:
            arg = typing.get_args(arg)[0]
        out.extend(_members(arg) if typing.get_origin(arg) is typing.Union else [arg])
    return out


def _fields(cls: type) -> set[str]:
    names: set[str] = set()
    for base in cls.__mro__:
        names |= set(getattr(base, "__annotations__", {}))
    return {name.rstrip("_") for name in names} - {"type", "model_config", "model_fields"}


_LITERAL = re.compile(r"Literal\[([^\]]*)\]")


def _tags(cls: type) -> tuple[str, ...]:
    """The ``type`` values of an SDK class (a pydantic model or a TypedDict with postponed annotations)."""
    fields = getattr(cls, "model_fields", None)
    hint = fields["type"].annotation if fields is not None and "type" in fields else \
        getattr(cls, "__annotations__", {}).get("type")
    match = _LITERAL.search(str(hint))
    return tuple(re.findall(r"'([^']+)'", match.group(1))) if match else ()


def _known(union: object) -> dict[str, set[str]]:
    known: dict[str, set[str]] = {}
    for cls in _members(union):
        for tag in _tags(cls):
            known.setdefault(tag, set()).update(_fields(cls))
    return known


ITEMS = _known(response_input_item_param.ResponseInputItemParam)
for _kind, _names in _known(response_output_item.ResponseOutputItem).items():
    ITEMS.setdefault(_kind, set()).update(_names)
TOOLS = _known(tool_param.ToolParam)


@pytest.mark.parametrize("kind", sorted(HOSTED_ITEM_FIELDS))
def test_hosted_items_keep_every_sdk_field(kind: str) -> None:
    assert kind in ITEMS, f"the openai SDK knows no item type {kind!r}"
    assert ITEMS[kind] <= set(HOSTED_ITEM_FIELDS[kind]) | {"id"}


@pytest.mark.parametrize("kind", sorted(HOSTED_TOOL_FIELDS))
def test_hosted_tools_keep_every_sdk_field(kind: str) -> None:
    assert kind in TOOLS, f"the openai SDK knows no tool type {kind!r}"
    assert TOOLS[kind] <= set(HOSTED_TOOL_FIELDS[kind])


def test_every_sdk_type_is_known_to_the_core() -> None:
    typed_items = {"message", "function_call", "function_call_output", "reasoning", "compaction", "item_reference",
                   "custom_tool_call", "custom_tool_call_output", "web_search_call"}
    typed_tools = {"function", "custom", "namespace", "web_search", "web_search_2025_08_26", "web_search_preview",
                   "web_search_preview_2025_03_11"}
    assert set(ITEMS) - typed_items - set(HOSTED_ITEM_FIELDS) == set()
    assert set(TOOLS) - typed_tools - set(HOSTED_TOOL_FIELDS) == set()
