"""Validate response bodies and whole event streams against the Open Responses ``openapi.json``.

The schema is compiled once per type (jsonschema, Draft 2020-12). Two known defects of the local copy are
patched, as upstream Open Responses fixed them: ``JsonSchemaResponseFormat.schema`` is typed null-only (it
must also allow an object), and ``ReasoningItemParam.content`` null-only. Stream validation checks each event
against its schema and the ordering rules of the specification (see :meth:`Validator.check_stream`).
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from ..types import HOSTED_ITEM_FIELDS, HOSTED_TOOL_FIELDS, WEB_SEARCH_TOOLS

BUNDLED = Path(__file__).with_name("openapi.json")
"""The copy of the Open Responses openapi.json shipped with the kit (``OPENRESPONSES_OPENAPI`` overrides)."""

TERMINAL = ("response.completed", "response.incomplete", "response.failed")


class StreamViolation(AssertionError):
    """A stream broke an ordering rule of the specification."""


def _patched(document: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(document)
    schemas = document["components"]["schemas"]
    schemas["JsonSchemaResponseFormat"]["properties"]["schema"] = {"anyOf": [{"type": "object"}, {"type": "null"}]}
    schemas["ReasoningItemParam"]["properties"]["content"] = {"anyOf": [{"type": "array"}, {"type": "null"}]}
    _allow_openai_types(schemas)
    return document


def _allow_openai_types(schemas: dict[str, Any]) -> None:
    """The gateway's documented extensions: OpenAI Responses tool and item types (docs/openai-types.md) are
    accepted and returned under OpenAI's names, as OpenAI clients send and parse them. Each is an object of
    one of those types; an item has an ``id`` (and, where OpenAI gives it one, a ``status``)."""
    tools = ["custom", "namespace", *(tool.__struct_config__.tag for tool in WEB_SEARCH_TOOLS), *HOSTED_TOOL_FIELDS]
    items = ["custom_tool_call", "web_search_call", *HOSTED_ITEM_FIELDS]
    schemas["Tool"]["oneOf"].append({"type": "object", "required": ["type"],
                                     "properties": {"type": {"enum": tools}}})
    schemas["ItemField"]["oneOf"].append({"type": "object", "required": ["type", "id"],
                                          "properties": {"type": {"enum": items}, "id": {"type": "string"}}})
    schemas["ResponseResource"]["properties"]["tool_choice"]["oneOf"].append(
        {"type": "object", "required": ["type", "name"], "properties": {"type": {"enum": ["custom"]}}})


class Validator:
    """Compiled validators for ``ResponseResource``, every streaming event, errors and request bodies."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        path = path or os.environ.get("OPENRESPONSES_OPENAPI") or BUNDLED
        self.document = _patched(json.loads(Path(path).read_text(encoding="utf-8")))
        self._compiled: dict[str, jsonschema.protocols.Validator] = {}
        self.event_schemas: dict[str, str] = {}
        for name, schema in self.document["components"]["schemas"].items():
            if name.endswith("StreamingEvent"):
                enum = schema.get("properties", {}).get("type", {}).get("enum")
                if enum:
                    self.event_schemas[enum[0]] = name

    def schema(self, name: str) -> jsonschema.protocols.Validator:
        """The compiled validator for ``components.schemas[name]``."""
        compiled = self._compiled.get(name)
        if compiled is None:
            root = {"$ref": f"#/components/schemas/{name}", "components": self.document["components"]}
            compiled = jsonschema.Draft202012Validator(root)
            self._compiled[name] = compiled
        return compiled

    def validate(self, name: str, instance: Any) -> None:
        """Raise ``jsonschema.ValidationError`` unless ``instance`` fits schema ``name``."""
        error = jsonschema.exceptions.best_match(self.schema(name).iter_errors(instance))
        if error is not None:
            raise error

    def validate_response(self, body: dict[str, Any]) -> None:
        """A ``ResponseResource`` (all 31 required keys included)."""
        self.validate("ResponseResource", body)

    def validate_error(self, body: dict[str, Any]) -> None:
        """An HTTP error body ``{"error": {type, code, message, param}}``."""
        if set(body) != {"error"}:
            raise AssertionError(f"an error body has exactly one key, 'error': {body}")
        self.validate("ErrorPayload", body["error"])

    def validate_event(self, event: dict[str, Any]) -> None:
        """One streaming event, against the schema its ``type`` names."""
        name = self.event_schemas.get(event.get("type", ""))
        if name is None:
            raise AssertionError(f"unknown event type {event.get('type')!r}")
        self.validate(name, event)

    def check_stream(self, events: list[dict[str, Any]], done: bool = True) -> dict[str, Any]:
        """Validate a whole stream and its ordering rules; return the terminal response snapshot.

        Rules: ``response.created`` then ``response.in_progress`` first; ``sequence_number`` 0, 1, 2, ...;
        exactly one terminal event, last (an ``error`` event only right before ``response.failed``);
        ``[DONE]`` after it; items added in ``output_index`` order and each closed once; deltas only inside an
        open item/part; every ``*.done`` text equals its deltas; the terminal ``output`` equals the
        ``output_item.done`` items in order (open items of a failed stream may appear ``incomplete``).
        """
        for event in events:
            self.validate_event(event)
        _require(len(events) >= 3, f"a stream has at least created, in_progress and a terminal event: {events}")
        _require(events[0]["type"] == "response.created", "the first event is response.created")
        _require(events[1]["type"] == "response.in_progress", "the second event is response.in_progress")
        for index, event in enumerate(events):
            _require(event["sequence_number"] == index,
                     f"sequence_number of event {index} ({event['type']}) is {event['sequence_number']}")
        terminal = events[-1]
        _require(terminal["type"] in TERMINAL, f"the last event is terminal, not {terminal['type']}")
        _require(sum(event["type"] in TERMINAL for event in events) == 1, "exactly one terminal event")
        _require(done, "the stream ends with data: [DONE]")
        errors = [i for i, event in enumerate(events) if event["type"] == "error"]
        for position in errors:
            _require(position == len(events) - 2 and terminal["type"] == "response.failed",
                     "an error event comes right before response.failed")
        _check_items(events)
        return terminal["response"]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise StreamViolation(message)


def _check_items(events: list[dict[str, Any]]) -> None:
    open_items: dict[int, dict[str, Any]] = {}
    done_items: list[dict[str, Any]] = []
    texts: dict[tuple[int, str, int], list[str]] = {}
    next_index = 0
    for event in events:
        kind = event["type"]
        if kind == "response.output_item.added":
            _require(event["output_index"] == next_index, f"output_index {event['output_index']} out of order")
            open_items[next_index] = event["item"]
            next_index += 1
        elif kind == "response.output_item.done":
            index = event["output_index"]
            _require(index in open_items, f"output_item.done for item {index} that is not open")
            _require(event["item"]["id"] == open_items.pop(index)["id"], "output_item.done changed the item id")
            done_items.append(event["item"])
        elif kind.endswith(".delta"):
            index = event["output_index"]
            _require(index in open_items, f"{kind} for item {index} that is not open")
            _require(event["item_id"] == open_items[index]["id"], f"{kind} names another item's id")
            slot = event.get("content_index", event.get("summary_index", -1))
            texts.setdefault((index, kind[: -len(".delta")], slot), []).append(event["delta"])
        elif kind.endswith(".done") and kind != "response.output_item.done" and "_part." not in kind:
            index = event["output_index"]
            slot = event.get("content_index", event.get("summary_index", -1))
            final = event.get("text", event.get("arguments", event.get("refusal")))
            sent = "".join(texts.get((index, kind[: -len(".done")], slot), []))
            _require(final == sent or (not sent and final == "{}"),
                     f"{kind} text {final!r} differs from its deltas {sent!r}")
    terminal = events[-1]
    output = terminal["response"]["output"]
    if terminal["type"] == "response.failed":
        _require(output[: len(done_items)] == done_items, "the failed snapshot starts with the finished items")
        for item in output[len(done_items):]:
            _require(item.get("status") == "incomplete", "open items of a failed stream are incomplete")
    else:
        _require(not open_items, f"items left open at the end: {sorted(open_items)}")
        _require(output == done_items, "the terminal output equals the output_item.done items in order")


def parse_sse(raw: bytes | str) -> tuple[list[dict[str, Any]], bool]:
    """Parse an SSE body into event dicts (checking ``event:`` equals ``type``) and whether ``[DONE]`` came
    last; comment lines (``: keepalive``) are skipped, as clients skip them. Rejects CRLF framing and ``id:``
    lines, which the specification rules out."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    _require("\r" not in text, "SSE framing uses LF line ends")
    events: list[dict[str, Any]] = []
    done = False
    for block in text.split("\n\n"):
        if not block.strip() or all(line.startswith(":") for line in block.split("\n") if line):
            continue
        _require(not done, "nothing may follow data: [DONE]")
        name = None
        data = []
        for line in block.split("\n"):
            _require(not line.startswith("id:"), "servers should not send id: lines")
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        payload = "\n".join(data)
        if payload == "[DONE]":
            done = True
            continue
        event = json.loads(payload)
        _require(name == event.get("type"), f"event: {name!r} differs from the data's type {event.get('type')!r}")
        events.append(event)
    return events, done


@cache
def default_validator() -> Validator:
    """The process-wide validator (compiled once)."""
    return Validator()
