"""Strict parsing with an SDK's own pydantic types: the document must validate in strict mode and hold no key
the type does not declare (the SDKs' models accept unknown keys silently)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, TypeAdapter


def _extras(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, BaseModel):
        for key in value.model_extra or {}:
            yield f"{path}.{key}"
        for name in type(value).model_fields:
            yield from _extras(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _extras(item, f"{path}[{index}]")


def strict_parse(kind: Any, data: dict[str, Any]) -> Any:
    """``data`` as ``kind`` (a model class or a union type), failing on a type mismatch or an unknown key."""
    parsed = TypeAdapter(kind).validate_json(json.dumps(data), strict=True)
    unknown = list(_extras(parsed, "$"))
    assert not unknown, f"keys the SDK's type does not declare: {unknown}"
    return parsed


def sse_events(body: bytes) -> list[tuple[str, str]]:
    """``(event, data)`` pairs of an SSE body, in order (``event`` is ``""`` when absent)."""
    events = []
    for block in body.decode().split("\n\n"):
        if not block.strip():
            continue
        name, data = "", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        events.append((name, "\n".join(data)))
    return events
