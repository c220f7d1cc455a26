"""Decode and validate a ``POST /v1/responses`` body in one pass, then normalise it.

After :func:`decode_request`, ``request.input`` is a list of items and every message's ``content`` is a part
list, so no provider deals with the string shorthands. Items sent without ``type`` (as LangChain and the AI
SDK do) are accepted: with a ``role`` they are messages, with only an ``id`` they are item references.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from .errors import InvalidRequestError
from .types import (
    FunctionCallOutput,
    InputText,
    Message,
    OutputText,
    Refusal,
    ResponseRequest,
)

_decode_typed = msgspec.json.Decoder(ResponseRequest).decode
_decode_any = msgspec.json.Decoder().decode
_PATH = re.compile(r" - at (?:`key` in )?`\$(.*)`$")
_SYSTEM_ROLES = frozenset({"system", "developer"})


def _param_of(error: msgspec.ValidationError) -> tuple[str | None, str]:
    """Turn msgspec's ``... - at `$.input[0].content``` into ``("input[0].content", "...")``."""
    text = str(error)
    match = _PATH.search(text)
    if not match:
        return None, text
    path = match.group(1).lstrip(".")
    return path or None, text[: match.start()]


def _fill_missing_types(body: Any) -> bool:
    """Give untyped input items their implied ``type``; True when anything changed."""
    if not isinstance(body, dict):
        return False
    items = body.get("input")
    if not isinstance(items, list):
        return False
    changed = False
    for item in items:
        if isinstance(item, dict) and "type" not in item:
            if "role" in item:
                item["type"] = "message"
                changed = True
            elif "id" in item:
                item["type"] = "item_reference"
                changed = True
    return changed


def decode_request(body: bytes, max_items: int | None = None) -> ResponseRequest:
    """Decode, validate and normalise a request body. Raises :class:`InvalidRequestError` with ``param``.
    With ``max_items``, a longer ``input`` is refused before the (per-item) normalising."""
    try:
        try:
            request = _decode_typed(body)
        except msgspec.ValidationError as exc:
            request = _decode_lenient(body, exc)
    except msgspec.DecodeError as exc:  # not JSON at all, or a number out of range (1e400)
        raise InvalidRequestError(f"the body is not valid JSON: {exc}", code="invalid_json") from None
    except RecursionError:  # arrays or objects nested thousands deep
        raise InvalidRequestError("the body is nested too deeply", code="invalid_json") from None
    if max_items is not None and isinstance(request.input, list) and len(request.input) > max_items:
        raise too_many_items(max_items)
    normalise(request)
    return request


def too_many_items(limit: int) -> InvalidRequestError:
    """The 400 for an ``input`` of more than ``limit`` items (``server.max_input_items``)."""
    return InvalidRequestError(f"'input' has more than {limit} items", code="too_many_items", param="input")


def _decode_lenient(body: bytes, first_error: msgspec.ValidationError) -> ResponseRequest:
    data = _decode_any(body)
    if not isinstance(data, dict):
        raise InvalidRequestError("the body must be a JSON object", code="invalid_type")
    error = first_error
    if _fill_missing_types(data):
        try:
            return msgspec.convert(data, ResponseRequest)
        except msgspec.ValidationError as exc:
            error = exc
    problems = _every_problem(data) or [_param_of(error)]
    param = problems[0][0]
    if len(problems) == 1:
        message = problems[0][1]
        text = f"invalid value for '{param}': {message}" if param else message
    else:
        text = f"{len(problems)} invalid parameters: " + "; ".join(
            f"'{name}': {message}" if name else message for name, message in problems)
    raise InvalidRequestError(text, code="invalid_type", param=param) from None


_LISTS = ("input", "tools", "include")
_MAX_PROBLEMS = 20


def _every_problem(data: dict[str, Any]) -> list[tuple[str | None, str]]:
    """Each invalid parameter of a body that failed validation (msgspec stops at the first), up to
    ``_MAX_PROBLEMS``: every top-level key checked alone, and every element of the lists. Only runs for a
    refused request."""
    problems: list[tuple[str | None, str]] = []
    for key, value in data.items():
        if len(problems) >= _MAX_PROBLEMS:
            break
        if key in _LISTS and isinstance(value, list):
            for index, element in enumerate(value):
                problem = _problem_of({key: [element]})
                if problem is not None:
                    name, message = problem
                    problems.append((name.replace(f"{key}[0]", f"{key}[{index}]", 1) if name else key, message))
                    if len(problems) >= _MAX_PROBLEMS:
                        break
        else:
            problem = _problem_of({key: value})
            if problem is not None:
                problems.append(problem)
    return problems


def _problem_of(part: dict[str, Any]) -> tuple[str | None, str] | None:
    try:
        msgspec.convert(part, ResponseRequest)
    except msgspec.ValidationError as exc:
        return _param_of(exc)
    return None


def normalise(request: ResponseRequest) -> None:
    """Make ``input`` a list and every message's content a part list; check what msgspec cannot."""
    if request.model is None or not request.model.strip():
        raise InvalidRequestError("'model' is required", code="missing_required_parameter", param="model")
    raw = request.input
    if raw is None or raw == "" or raw == []:
        if request.previous_response_id is not None:  # continue the stored conversation as it is
            request.input = []
            return
        raise InvalidRequestError("'input' must not be empty", code="empty_input", param="input")
    if isinstance(raw, str):
        request.input = [Message(role="user", content=[InputText(raw)])]
        return
    for index, item in enumerate(raw):
        if type(item) is Message:
            content = item.content
            if isinstance(content, str):
                if item.role == "assistant":
                    item.content = [OutputText(content)]
                else:
                    item.content = [InputText(content)]
            elif item.role in _SYSTEM_ROLES:
                for part_index, part in enumerate(content):
                    if type(part) is not InputText:
                        raise InvalidRequestError(
                            f"{item.role} messages may only contain input_text parts",
                            code="invalid_value",
                            param=f"input[{index}].content[{part_index}]",
                        )
            elif item.role == "user":
                for part_index, part in enumerate(content):
                    if type(part) in (OutputText, Refusal):
                        raise InvalidRequestError(
                            "user messages may not contain output_text or refusal parts",
                            code="invalid_value",
                            param=f"input[{index}].content[{part_index}]",
                        )
        elif type(item) is FunctionCallOutput and isinstance(item.output, list) and not item.output:
            item.output = ""
