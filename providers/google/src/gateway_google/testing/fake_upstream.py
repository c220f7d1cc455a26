"""A fake Gemini API (``generativelanguage.googleapis.com``) answering under the gateway's echo protocol.

Speaks the real REST wire format: ``POST /v1beta/models/{model}:generateContent`` (JSON) and
``:streamGenerateContent?alt=sse`` (``data: {chunk}\\r\\n\\r\\n`` frames, no end marker: the finish reason arrives
in a trailing chunk), camelCase bodies, the ``x-goog-api-key`` header, and Google error bodies
``{"error": {"code": 429, "message": ..., "status": "RESOURCE_EXHAUSTED"}}``.

Echo prompts as Gemini shows them: ``think!`` is a thought part, then text whose last, empty part carries a
signature; ``refuse!`` (Gemini has no refusal text) is finish SAFETY; ``stream-error!`` is an error chunk
mid-stream. Extra prompts for this plugin's own tests: ``parallel!`` (two calls, only the first signed),
``block!`` (prompt blocked: no candidates), ``safety!`` (finish SAFETY), ``malformed!`` (finish
MALFORMED_FUNCTION_CALL). Wrap it in :class:`gateway_core.testing.UpstreamRecorder` to see what it received.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway_core.echo import EchoReply, EchoRequest, chunk_text, echo_reply

STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}


def sig(text: str) -> str:
    """The fake's thought signature for ``text`` (standard base64, as Gemini sends ``thoughtSignature``)."""
    return base64.b64encode(f"sig:{text}".encode()).decode()


SKIP_SIGNATURE = "skip_thought_signature_validator"
"""Google's documented placeholder for a function call with no signature (another model's, or injected)."""


def missing_signature(body: dict[str, Any], model: str) -> str | None:
    """As Gemini 3 checks it: the error message when the first functionCall part of a model step in the current
    turn (after the last user text) has no valid thoughtSignature, else None. Other models check nothing."""
    if not model.startswith("gemini-3"):
        return None
    contents = body.get("contents", [])
    start = max((index for index, content in enumerate(contents) if content.get("role") != "model"
                 and any("text" in part for part in content.get("parts", []))), default=-1)
    for position, content in enumerate(contents[start + 1:], start + 1):
        calls = [part for part in content.get("parts", []) if _get(part, "functionCall", "function_call")]
        if content.get("role") != "model" or not calls:
            continue
        first = calls[0]
        name = _get(first, "functionCall", "function_call")["name"]
        signature = _get(first, "thoughtSignature", "thought_signature")
        if signature not in (sig(name), SKIP_SIGNATURE):
            return ("Function call is missing a thought_signature in functionCall parts. This is required for "
                    "tools to work correctly, and missing thought_signature may lead to degraded model "
                    f"performance. Additional data, function call `default_api:{name}` , position {position + 1}. "
                    "Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.")
    return None


def grounding(reply: EchoReply) -> dict[str, Any]:
    """``groundingMetadata`` of a ``search:`` answer, as Gemini reports Google Search (spans in UTF-8 bytes)."""
    text = reply.text or ""
    return {"webSearchQueries": [reply.search],
            "groundingChunks": [{"web": {"uri": reply.citation_url, "title": reply.search}}],
            "groundingSupports": [{"segment": {"startIndex": 0, "endIndex": len(text.encode()), "text": text},
                                   "groundingChunkIndices": [0]}]}


def _get(data: dict[str, Any], camel: str, snake: str) -> Any:
    """Proto-JSON accepts both spellings; the gateway sends camelCase."""
    return data.get(camel, data.get(snake))


def parse_echo(body: dict[str, Any]) -> EchoRequest:
    """Reduce a generateContent body to the echo protocol's view."""
    echo = EchoRequest()
    system = _get(body, "systemInstruction", "system_instruction") or {}
    echo.system = [part["text"] for part in system.get("parts", []) if "text" in part]
    contents = body.get("contents", [])
    for content in contents:
        role = "assistant" if content.get("role") == "model" else "user"
        texts = [part["text"] for part in content.get("parts", []) if part.get("text") and not part.get("thought")]
        calls = [_get(part, "functionCall", "function_call") for part in content.get("parts", [])
                 if _get(part, "functionCall", "function_call")]
        for part in content.get("parts", []):
            data = _get(part, "inlineData", "inline_data") or _get(part, "fileData", "file_data")
            if data:
                if _get(data, "mimeType", "mime_type").startswith("image/"):
                    echo.images += 1
                else:
                    echo.files += 1
        if texts:
            echo.turns.append((role, "".join(texts)))
        for call in calls:
            echo.turns.append(("assistant", f"call {call['name']}({json.dumps(call.get('args', {}))})"))
    if contents:
        last_parts = contents[-1].get("parts", [])
        responses = [_get(part, "functionResponse", "function_response") for part in last_parts
                     if _get(part, "functionResponse", "function_response")]
        if responses:
            output = responses[-1].get("response", {}).get("output")
            echo.tool_output = output if isinstance(output, str) else json.dumps(output)
    generation = _get(body, "generationConfig", "generation_config") or {}
    echo.json_output = _get(generation, "responseMimeType", "response_mime_type") == "application/json"
    declared = [decl["name"] for tool in body.get("tools", [])
                for decl in _get(tool, "functionDeclarations", "function_declarations") or []]
    echo.tools = declared
    echo.web_search = any("googleSearch" in tool or "google_search" in tool for tool in body.get("tools", []))
    config = _get(_get(body, "toolConfig", "tool_config") or {}, "functionCallingConfig",
                  "function_calling_config") or {}
    mode = config.get("mode", "AUTO")
    echo.tool_choice = {"ANY": "required", "NONE": "none"}.get(mode, "auto")
    allowed = _get(config, "allowedFunctionNames", "allowed_function_names")
    if allowed:
        echo.tools = [name for name in declared if name in allowed]
    return echo


def _prompt(echo: EchoRequest) -> str:
    return next((text for role, text in reversed(echo.turns) if role == "user"), "").strip()


def _usage(reply: EchoReply, thoughts: int = 0) -> dict[str, Any]:
    return {
        "promptTokenCount": reply.input_tokens,
        "candidatesTokenCount": reply.output_tokens,
        "totalTokenCount": reply.input_tokens + reply.output_tokens + thoughts,
        **({"thoughtsTokenCount": thoughts} if thoughts else {}),
    }


def _error(status: int, message: str) -> JSONResponse:
    headers = {"retry-after": "1"} if status == 429 else {}
    body = {"error": {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}}
    return JSONResponse(body, status_code=status, headers=headers)


def _answer(echo: EchoRequest, prompt: str, model: str) -> tuple[EchoReply, list[dict[str, Any]], str, int]:
    """(reply, model parts, finish reason, thought tokens) for a request that does not fail."""
    reply = echo_reply(echo)
    if echo.tool_output is None:
        parts: list[dict[str, Any]]
        if reply.reasoning:
            parts = [{"text": reply.reasoning, "thought": True}, {"text": reply.text},
                     {"text": "", "thoughtSignature": sig("text")}]
            return reply, parts, "STOP", 5
        if prompt == "parallel!" and echo.tools:
            parts = [{"functionCall": {"name": name, "args": {"n": index}}, **({"thoughtSignature": sig(name)}
                      if index == 0 else {})} for index, name in enumerate(echo.tools[:2])]
            return reply, parts, "STOP", 0
        if prompt == "safety!" or reply.refusal is not None:
            return reply, [], "SAFETY", 0
        if prompt == "malformed!":
            return reply, [], "MALFORMED_FUNCTION_CALL", 0
    if reply.call_name is not None:
        call: dict[str, Any] = {"name": reply.call_name, "args": json.loads(reply.call_arguments or "{}")}
        if model.startswith("gemini-3"):
            call["id"] = f"fc-{reply.call_name}"
        return reply, [{"functionCall": call, "thoughtSignature": sig(reply.call_name)}], "STOP", 0
    finish = "MAX_TOKENS" if reply.finish == "length" else "STOP"
    return reply, [{"text": reply.text or ""}], finish, 0


def create_app() -> Starlette:
    """The fake upstream app."""

    async def models(request: Request) -> Response:
        target = request.path_params["target"]
        model, _, method = target.partition(":")
        body = json.loads(await request.body())
        if not request.headers.get("x-goog-api-key"):
            return _error(401, "API key not valid. Please pass a valid API key.")
        if method == "countTokens":
            counted = body.get("generateContentRequest", body)
            return JSONResponse({"totalTokens": echo_reply(parse_echo(counted)).input_tokens})
        missing = missing_signature(body, model)
        if missing is not None:
            return _error(400, missing)
        echo = parse_echo(body)
        prompt = _prompt(echo)
        await asyncio.sleep(echo_reply(echo).delay)
        if echo.tool_output is None:
            status = echo_reply(echo).error_status
            if status is not None:
                return _error(status, f"fake upstream error {status}")
            if prompt == "block!":
                return JSONResponse({"promptFeedback": {"blockReason": "SAFETY"},
                                     "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}})
        reply, parts, finish, thoughts = _answer(echo, prompt, model)
        if method == "generateContent":
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "finishReason": finish,
                                         "index": 0}
            if reply.search is not None:
                candidate["groundingMetadata"] = grounding(reply)
            if not parts:
                del candidate["content"]
            return JSONResponse({"candidates": [candidate], "usageMetadata": _usage(reply, thoughts),
                                 "modelVersion": model, "responseId": "fake-response-id"})
        if method == "streamGenerateContent" and request.query_params.get("alt") == "sse":
            return StreamingResponse(_stream(reply, parts, finish, thoughts, model, prompt),
                                     media_type="text/event-stream")
        return _error(404, f"method {method} not found")

    async def model_list(request: Request) -> Response:
        names = ("gemini-2.5-flash", "gemini-2.5-pro")
        return JSONResponse({"models": [{"name": f"models/{name}", "displayName": name,
                                         "supportedGenerationMethods": ["generateContent"]} for name in names]})

    app = Starlette(routes=[Route("/v1beta/models", model_list, methods=["GET"]),
                            Route("/v1beta/models/{target:path}", models, methods=["POST"])])
    return app


def _frame(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\r\n\r\n"


async def _stream(reply: EchoReply, parts: list[dict[str, Any]], finish: str, thoughts: int, model: str,
                  prompt: str) -> Any:
    def chunk(chunk_parts: list[dict[str, Any]], **extra: Any) -> bytes:
        return _frame({"candidates": [{"content": {"role": "model", "parts": chunk_parts}, "index": 0, **extra}],
                       "modelVersion": model, "responseId": "fake-response-id"})

    if reply.inband_error is not None:  # the echo protocol's in-band errors: text (if any) and error in one write
        status = reply.inband_error
        error = _frame({"error": {"code": status, "message": f"fake in-band error {status}",
                                  "status": STATUS_NAMES.get(status, "UNKNOWN")}})
        pieces = chunk_text(reply.text) if reply.text else []
        yield b"".join([*(chunk([{"text": piece}]) for piece in pieces), error])
        return
    if prompt == "stream-error!":
        yield chunk([{"text": "partial "}])
        await asyncio.sleep(0.01)
        yield _frame({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}})
        return
    pieces: list[dict[str, Any]] = []
    for part in parts:
        if "text" in part and part["text"] and not part.get("thought"):
            words = chunk_text(part["text"])
            pieces += [{"text": word} for word in words[:-1]]
            pieces.append({**part, "text": words[-1]})
        else:
            pieces.append(part)
    if reply.cut:
        for piece in pieces[: max(1, len(pieces) // 2)]:
            yield chunk([piece])
        return
    for piece in pieces:
        yield chunk([piece])
        await asyncio.sleep(reply.pace)
    final = {"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": finish,
                             "index": 0}], "usageMetadata": _usage(reply, thoughts), "modelVersion": model}
    if reply.search is not None:
        final["candidates"][0]["groundingMetadata"] = grounding(reply)
    yield _frame(final)
