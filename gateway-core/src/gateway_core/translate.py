"""Helpers every provider's translator needs, so no provider re-implements them.

All are pure functions of the normalised request (see ``gateway_core.decode``).
"""

from __future__ import annotations

import hashlib
import re

import msgspec

from .contract.deltas import OutputItemDelta
from .contract.errors import InvalidRequestError
from .types import (
    HOSTED_ITEM_FIELDS,
    FunctionCall,
    FunctionCallOutput,
    FunctionTool,
    InputFile,
    InputImage,
    InputText,
    Message,
    OutputText,
    Refusal,
    ResponseRequest,
    WholeItem,
)

_DATA_URL = re.compile(r"^data:([^;,]+)?((?:;[^;,]+)*?)(;base64)?,(.*)$", re.DOTALL)
_SYSTEM_ROLES = frozenset({"system", "developer"})


def system_texts(request: ResponseRequest) -> list[str]:
    """``instructions`` then every system/developer message's text, in input order.

    Providers without mid-conversation system turns fold these into their one system prompt (the position
    of a later system message is lost)."""
    texts = [request.instructions] if request.instructions else []
    for item in request.items:
        if type(item) is Message and item.role in _SYSTEM_ROLES:
            text = message_text(item)
            if text:
                texts.append(text)
    return texts


def message_text(message: Message) -> str:
    """The concatenated text parts of a message (input_text and output_text; refusals excluded)."""
    return "".join(part.text for part in message.content if type(part) in (InputText, OutputText))  # type: ignore[union-attr]


def refusal_text(message: Message) -> str:
    """The concatenated refusal parts of a message."""
    return "".join(part.refusal for part in message.content if type(part) is Refusal)  # type: ignore[union-attr]


def parse_data_url(url: str) -> tuple[str, str] | None:
    """``(media_type, base64_data)`` of a base64 ``data:`` URL, else ``None``."""
    if not url.startswith("data:"):
        return None
    match = _DATA_URL.match(url)
    if match is None or not match.group(3):
        return None
    return (match.group(1) or "application/octet-stream").lower(), match.group(4)


def image_source(part: InputImage, param: str) -> tuple[str, str] | str:
    """``(media_type, base64)`` for a data URL, or the URL string for a remote image. 400 if neither."""
    url = part.image_url
    if not url:
        raise InvalidRequestError("input_image needs an image_url (file ids are not supported)",
                                  code="invalid_value", param=param)
    parsed = parse_data_url(url)
    if parsed is not None:
        return parsed
    if url.startswith(("http://", "https://", "gs://")):
        return url
    raise InvalidRequestError("image_url must be an https URL or a base64 data URL", code="invalid_value",
                              param=param)


def file_source(part: InputFile, param: str) -> tuple[str, str] | str:
    """``(media_type, base64)`` for inline ``file_data``, or the ``file_url``. 400 if neither."""
    if part.file_data:
        parsed = parse_data_url(part.file_data)
        if parsed is None:
            raise InvalidRequestError("file_data must be a base64 data URL", code="invalid_value", param=param)
        return parsed
    if part.file_url:
        return part.file_url
    raise InvalidRequestError("input_file needs file_data or file_url (file ids are not supported)",
                              code="invalid_value", param=param)


def call_names(request: ResponseRequest) -> dict[str, str]:
    """``call_id -> function name`` from the function_call items (and ``name`` hints) of the input."""
    names: dict[str, str] = {}
    for item in request.items:
        if type(item) is FunctionCall:
            names[item.call_id] = item.name
        elif type(item) is FunctionCallOutput and item.name:
            names.setdefault(item.call_id, item.name)
    return names


def tool_output_text(item: FunctionCallOutput) -> str:
    """A function_call_output's output as text (the text parts of a part list)."""
    output = item.output
    if isinstance(output, str):
        return output
    return "".join(part.text for part in output if type(part) is InputText)  # type: ignore[union-attr]


_SAFE_ID = re.compile(r"[^a-zA-Z0-9_-]")


def safe_call_id(call_id: str, *, max_length: int = 64) -> str:
    """A deterministic id of only ``[a-zA-Z0-9_-]`` (Anthropic's rule), so a call and its result agree."""
    if not _SAFE_ID.search(call_id) and len(call_id) <= max_length:
        return call_id
    digest = hashlib.sha256(call_id.encode()).hexdigest()[:16]
    cleaned = _SAFE_ID.sub("_", call_id)[: max_length - 17]
    return f"{cleaned}_{digest}"


_decode_whole_item = msgspec.json.Decoder(WholeItem).decode
WHOLE_ITEM_TYPES = frozenset({"custom_tool_call", "web_search_call", *HOSTED_ITEM_FIELDS})
"""The ``type`` of every output item a provider hands on whole (:class:`~gateway_core.deltas.OutputItemDelta`)."""


def whole_item(raw: bytes) -> OutputItemDelta:
    """The delta of an upstream output item in OpenAI's shape whose ``type`` is in :data:`WHOLE_ITEM_TYPES`
    (a ``custom_tool_call``, ``web_search_call``, a hosted tool's item), kept as sent."""
    return OutputItemDelta(_decode_whole_item(raw))


def function_tools(request: ResponseRequest) -> list[FunctionTool]:
    """The request's function tools. The core has fitted the tools to the provider before it translates
    (``gateway_core.tool_plan``), so the others left are only the types it declared in ``tool_types``."""
    return [tool for tool in request.tools or () if type(tool) is FunctionTool]
