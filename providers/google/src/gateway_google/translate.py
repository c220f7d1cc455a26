"""Open Responses request -> Gemini ``generateContent`` request body (the REST wire format, camelCase).

Pure: no I/O, no client. The body is what google-genai itself would send for the equivalent typed request
(``contents``, ``systemInstruction``, ``tools``, ``toolConfig``, ``generationConfig``), built directly as
JSON-ready data so no pydantic model is created per request.
"""

from __future__ import annotations

import json
import mimetypes
import re
from typing import Any

from msgspec import Struct

from gateway_core import InvalidRequestError
from gateway_core.envelope import open_envelope
from gateway_core.ids import CALL_ID_PREFIX
from gateway_core.translate import call_names, file_source, function_tools, image_source, system_texts
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
    Refusal,
    ResponseRequest,
    TextFormatJsonObject,
    TextFormatJsonSchema,
    WebSearchTool,
)

PROVIDER = "google"
"""The envelope namespace of this plugin's thought signatures."""
SKIP_SIGNATURE = "skip_thought_signature_validator"
"""Google's documented placeholder signature, sent only on Gemini 3 for a call whose own signature is unknown
(made by another model, or injected by the client): it skips the check, at some cost in quality."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$")
_BAD_MODEL = re.compile(r"\.\.|[?&#/\s]")
_CHOICE_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}
_ALLOWED_MODES = {"auto": "VALIDATED", "required": "ANY", "none": "NONE"}
_BUDGETS = {"none": 0, "minimal": 128, "low": 1024, "medium": 8192, "high": 24576, "xhigh": -1}
_LEVELS = {"none": "MINIMAL", "minimal": "MINIMAL", "low": "LOW", "medium": "MEDIUM", "high": "HIGH", "xhigh": "HIGH"}
_RESOLUTION = {"low": "MEDIA_RESOLUTION_LOW", "high": "MEDIA_RESOLUTION_HIGH"}


class GeminiRequest(Struct, kw_only=True):
    """The native request: the model, its resource path and the JSON body of the call."""

    model: str
    model_path: str
    body: dict[str, Any]


def translate(request: ResponseRequest, model: str, vertexai: bool = False) -> GeminiRequest:
    """Build the native request for ``model`` (raises :class:`InvalidRequestError` with ``param``)."""
    if not model or _BAD_MODEL.search(model):
        raise InvalidRequestError(f"invalid model name {model!r}", code="invalid_value", param="model")
    body: dict[str, Any] = {"contents": _contents(request, model)}
    system = system_texts(request)
    if system:
        body["systemInstruction"] = {"parts": [{"text": text} for text in system]}
    declarations = _declarations(request)
    if declarations:
        body["tools"] = [{"functionDeclarations": declarations}]
        tool_config = _tool_config(request)
        if tool_config is not None:
            body["toolConfig"] = {"functionCallingConfig": tool_config}
    if any(isinstance(tool, WebSearchTool) for tool in request.tools or ()):
        body.setdefault("tools", []).append({"googleSearch": {}})  # Grounding with Google Search
    generation = _generation_config(request, model)
    if generation:
        body["generationConfig"] = generation
    model_path = f"publishers/google/models/{model}" if vertexai else f"models/{model}"
    return GeminiRequest(model=model, model_path=model_path, body=body)


# -- contents ----------------------------------------------------------------------------------------------


class _Run:
    """One run of assistant-side items: the parts of ONE model Content, and the signatures to re-attach."""

    __slots__ = ("parts", "call_parts", "text_parts", "sigs", "placeholder")

    def __init__(self, placeholder: bool) -> None:
        self.placeholder = placeholder
        """Gemini 3: a step whose first call has no signature gets Google's placeholder."""
        self.parts: list[dict[str, Any]] = []
        self.call_parts: dict[str, dict[str, Any]] = {}
        self.text_parts: list[dict[str, Any]] = []
        self.sigs: list[dict[str, Any]] = []

    def content(self) -> dict[str, Any]:
        """The model Content with every signature put back on the part it came from."""
        for sig in self.sigs:
            value = sig.get("sig")
            if not isinstance(value, str):
                continue
            if sig.get("on") == "call":
                part = self.call_parts.get(sig.get("call_id"))  # type: ignore[arg-type]
                if part is not None:
                    part["thoughtSignature"] = value
            elif sig.get("on") == "text" and isinstance(sig.get("index"), int):
                index = sig["index"]
                if 0 <= index < len(self.text_parts):
                    self.text_parts[index]["thoughtSignature"] = value
                elif index >= len(self.text_parts):  # signed empty text part: replay it as it came
                    self.parts.append({"text": "", "thoughtSignature": value})
        if self.placeholder and self.call_parts:
            first = next(part for part in self.parts if "functionCall" in part)
            first.setdefault("thoughtSignature", SKIP_SIGNATURE)
        return {"role": "model", "parts": self.parts}


def _contents(request: ResponseRequest, model: str) -> list[dict[str, Any]]:
    contents: list[dict[str, Any]] = []
    placeholder = model.startswith("gemini-3")
    run: _Run | None = None
    responses: list[dict[str, Any]] | None = None
    names: dict[str, str] | None = None
    items = request.items
    for index, item in enumerate(items):
        kind = type(item)
        if kind is FunctionCallOutput:
            if run is not None:
                contents.append(run.content())
                run = None
            if responses is None:
                responses = []
                contents.append({"role": "user", "parts": responses})
            if names is None:
                names = call_names(request)
            responses.append(_function_response(item, index, names))  # type: ignore[arg-type]
            continue
        responses = None
        if kind is Message:
            role = item.role  # type: ignore[union-attr]
            if role in ("system", "developer"):
                continue
            if role == "user":
                if run is not None:
                    contents.append(run.content())
                    run = None
                parts = _user_parts(item, index, model)  # type: ignore[arg-type]
                if parts:
                    contents.append({"role": "user", "parts": parts})
                continue
            run = run or _Run(placeholder)
            for part in item.content:  # type: ignore[union-attr]
                text = part.text if type(part) in (OutputText, InputText) else (  # type: ignore[union-attr]
                    part.refusal if type(part) is Refusal else "")  # type: ignore[union-attr]
                if text:
                    entry = {"text": text}
                    run.parts.append(entry)
                    run.text_parts.append(entry)
        elif kind is FunctionCall:
            run = run or _Run(placeholder)
            run.parts.append(_function_call(item, index))  # type: ignore[arg-type]
            run.call_parts[item.call_id] = run.parts[-1]  # type: ignore[union-attr]
        elif kind is Reasoning:
            data = open_envelope(item.encrypted_content, PROVIDER)  # type: ignore[union-attr]
            if data is not None and isinstance(data.get("sigs"), list):
                run = run or _Run(placeholder)
                run.sigs.extend(sig for sig in data["sigs"] if isinstance(sig, dict))
        else:
            raise InvalidRequestError(
                f"input items of type {getattr(item, 'type', kind.__name__)!r} are not supported by this provider",
                code="unsupported_parameter", param=f"input[{index}]")
    if run is not None:
        contents.append(run.content())
    return [content for content in contents if content["parts"]]


def _user_parts(message: Message, index: int, model: str) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part_index, part in enumerate(message.content):
        kind = type(part)
        if kind is InputText or kind is OutputText:
            if part.text:  # type: ignore[union-attr]
                parts.append({"text": part.text})  # type: ignore[union-attr]
        elif kind is InputImage:
            parts.append(_image_part(part, f"input[{index}].content[{part_index}]", model))  # type: ignore[arg-type]
        elif kind is InputFile:
            parts.append(_file_part(part, f"input[{index}].content[{part_index}]"))  # type: ignore[arg-type]
    return parts


def _image_part(part: InputImage, param: str, model: str) -> dict[str, Any]:
    source = image_source(part, param)
    if isinstance(source, tuple):
        entry: dict[str, Any] = {"inlineData": {"mimeType": source[0], "data": source[1]}}
    else:
        if source.startswith("http://"):
            raise InvalidRequestError("image URLs must use https (or gs://)", code="invalid_value", param=param)
        entry = {"fileData": {"fileUri": source, "mimeType": mimetypes.guess_type(source)[0] or "image/jpeg"}}
    if part.detail in _RESOLUTION and model.startswith("gemini-3"):
        entry["mediaResolution"] = {"level": _RESOLUTION[part.detail]}
    return entry


def _file_part(part: InputFile, param: str) -> dict[str, Any]:
    source = file_source(part, param)
    guessed = mimetypes.guess_type(part.filename)[0] if part.filename else None
    if isinstance(source, tuple):
        mime = source[0] if source[0] != "application/octet-stream" else (guessed or source[0])
        return {"inlineData": {"mimeType": mime, "data": source[1]}}
    return {"fileData": {"fileUri": source, "mimeType": guessed or mimetypes.guess_type(source)[0]
                         or "application/pdf"}}


def _function_call(item: FunctionCall, index: int) -> dict[str, Any]:
    try:
        args = json.loads(item.arguments) if item.arguments.strip() else {}
    except ValueError:
        raise InvalidRequestError("function_call arguments must be a JSON object", code="invalid_value",
                                  param=f"input[{index}].arguments") from None
    if not isinstance(args, dict):
        raise InvalidRequestError("function_call arguments must be a JSON object", code="invalid_value",
                                  param=f"input[{index}].arguments")
    call: dict[str, Any] = {"name": item.name, "args": args}
    if not item.call_id.startswith(CALL_ID_PREFIX):
        call["id"] = item.call_id
    return {"functionCall": call}


def _function_response(item: FunctionCallOutput, index: int, names: dict[str, str]) -> dict[str, Any]:
    name = names.get(item.call_id)
    if name is None:
        raise InvalidRequestError(
            f"no function_call with call_id {item.call_id!r} in the input: Gemini needs the function name of "
            "every function_call_output (replay the function_call item, or send `name`)",
            code="invalid_value", param=f"input[{index}].call_id")
    output = item.output
    media: list[dict[str, Any]] = []
    if isinstance(output, str):
        text = output
    else:
        texts = []
        for part_index, part in enumerate(output):
            kind = type(part)
            if kind is InputText:
                texts.append(part.text)  # type: ignore[union-attr]
            elif kind is InputImage:
                media.append(_response_media(image_source(part, f"input[{index}].output[{part_index}]"),  # type: ignore[arg-type]
                                             f"input[{index}].output[{part_index}]"))
            elif kind is InputFile:
                media.append(_response_media(file_source(part, f"input[{index}].output[{part_index}]"),  # type: ignore[arg-type]
                                             f"input[{index}].output[{part_index}]"))
        text = "".join(texts)
    response: dict[str, Any] = {"name": name, "response": {"output": _parse_output(text)}}
    if not item.call_id.startswith(CALL_ID_PREFIX):
        response["id"] = item.call_id
    if media:
        response["parts"] = media
    return {"functionResponse": response}


def _response_media(source: tuple[str, str] | str, param: str) -> dict[str, Any]:
    if isinstance(source, tuple):
        return {"inlineData": {"mimeType": source[0], "data": source[1]}}
    if source.startswith("http://"):
        raise InvalidRequestError("file URLs must use https (or gs://)", code="invalid_value", param=param)
    return {"fileData": {"fileUri": source, "mimeType": mimetypes.guess_type(source)[0] or "image/jpeg"}}


def _parse_output(text: str) -> Any:
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    return text


# -- tools -------------------------------------------------------------------------------------------------


def _declarations(request: ResponseRequest) -> list[dict[str, Any]]:
    declarations = []
    for index, tool in enumerate(function_tools(request)):
        if not _NAME.match(tool.name):
            raise InvalidRequestError(
                "Gemini function names must start with a letter or '_' and use only a-z, A-Z, 0-9, '_', '.', "
                "':', '-' (max 128)", code="invalid_value", param=f"tools[{index}].name")
        declaration: dict[str, Any] = {"name": tool.name}
        if tool.description:
            declaration["description"] = tool.description
        if tool.parameters:
            declaration["parametersJsonSchema"] = clean_schema(tool.parameters)
        declarations.append(declaration)
    return declarations


def _tool_config(request: ResponseRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    if choice is None:
        return None
    if isinstance(choice, str):
        return {"mode": _CHOICE_MODES[choice]}
    if type(choice) is FunctionChoice:
        return {"mode": "ANY", "allowedFunctionNames": [choice.name]}
    if type(choice) is AllowedTools:
        mode = _ALLOWED_MODES[choice.mode]
        if mode == "NONE":
            return {"mode": mode}
        return {"mode": mode, "allowedFunctionNames": [tool.name for tool in choice.tools]}
    return None


def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema Gemini accepts as ``parametersJsonSchema``: no ``$schema``, local ``$ref``s inlined.

    A recursive schema keeps its ``$ref``/``$defs`` (Gemini resolves local references itself)."""
    defs: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        if isinstance(schema.get(key), dict):
            defs.update({f"#/{key}/{name}": value for name, value in schema[key].items()})
    try:
        inlined = _inline(schema, defs, ())
    except _Recursive:
        return {key: value for key, value in schema.items() if key != "$schema"}
    if isinstance(inlined, dict):
        for key in ("$schema", "$defs", "definitions"):
            inlined.pop(key, None)
    return inlined  # type: ignore[no-any-return]


class _Recursive(Exception):
    pass


def _inline(node: Any, defs: dict[str, Any], stack: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(value, defs, stack) for value in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref in defs:
        if ref in stack:
            raise _Recursive
        target = _inline(defs[ref], defs, (*stack, ref))
        siblings = {key: _inline(value, defs, stack) for key, value in node.items() if key != "$ref"}
        return {**target, **siblings} if isinstance(target, dict) else target
    return {key: _inline(value, defs, stack) for key, value in node.items() if key != "$schema"}


# -- generation config -------------------------------------------------------------------------------------


def _generation_config(request: ResponseRequest, model: str) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.max_output_tokens is not None:
        config["maxOutputTokens"] = request.max_output_tokens
    if request.stop:
        config["stopSequences"] = [request.stop] if isinstance(request.stop, str) else list(request.stop)
    if request.presence_penalty is not None:
        config["presencePenalty"] = request.presence_penalty
    if request.frequency_penalty is not None:
        config["frequencyPenalty"] = request.frequency_penalty
    if request.text is not None:
        fmt = request.text.format
        if type(fmt) is TextFormatJsonSchema:
            config["responseMimeType"] = "application/json"
            if fmt.schema:
                config["responseJsonSchema"] = clean_schema(fmt.schema)
        elif type(fmt) is TextFormatJsonObject:
            config["responseMimeType"] = "application/json"
    reasoning = request.reasoning
    if reasoning is not None:
        thinking: dict[str, Any] = {}
        if reasoning.effort is not None:
            if model.startswith("gemini-3"):
                thinking["thinkingLevel"] = _LEVELS[reasoning.effort]
            else:
                thinking["thinkingBudget"] = _BUDGETS[reasoning.effort]
        if reasoning.summary is not None:
            thinking["includeThoughts"] = True
        if thinking:
            config["thinkingConfig"] = thinking
    return config

