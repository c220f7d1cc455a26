"""CPU per request of the plugin's raw path (the SDK's generic post with cast_to=httpx2.Response + msgspec) against the
SDK's typed path (pydantic models), in both upstream modes, streaming and not. A bench script, not a test.

    python tests/bench/openai_sdk_paths.py [N]

The fake upstream runs in a child process, so ``time.process_time`` counts only the client side: the SDK
call, the body decoding and the translation into deltas.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import time
from collections.abc import Callable
from typing import Any

from gateway_core import ProviderSettings
from gateway_core.config import convert_options
from gateway_core.contract import deltas as d
from gateway_core.decode import decode_request
from gateway_openai import plugin
from gateway_openai.options import Options

BODY = b'{"model": "gpt-4o-mini", "instructions": "Be brief.", "input": "one two three four five six seven eight"}'


def _serve(port_out: Any) -> None:
    import socket

    import uvicorn

    from gateway_openai.testing.fake_upstream import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port_out.put(sock.getsockname()[1])
    uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", access_log=False)).run(sockets=[sock])


# -- the typed path, for comparison: the SDK's pydantic models, mapped to the same deltas ----------------------

async def typed_responses(client: Any, native: dict[str, Any]) -> list[d.Delta]:
    response = await client.sdk.responses.create(**native)
    out: list[d.Delta] = []
    for item in response.output:
        if item.type == "message":
            out.extend(d.TextDelta(part.text) for part in item.content if part.type == "output_text")
    usage = response.usage
    out.append(d.UsageDelta(usage.input_tokens, usage.output_tokens, usage.input_tokens_details.cached_tokens,
                            usage.output_tokens_details.reasoning_tokens, usage.total_tokens))
    out.append(d.Finish())
    return out


async def typed_responses_stream(client: Any, native: dict[str, Any]) -> int:
    count = 0
    async with await client.sdk.responses.create(**native, stream=True) as events:
        async for event in events:
            if event.type == "response.output_text.delta":
                d.TextDelta(event.delta)
            count += 1
    return count


async def typed_chat(client: Any, native: dict[str, Any]) -> list[d.Delta]:
    completion = await client.sdk.chat.completions.create(**native)
    message = completion.choices[0].message
    usage = completion.usage
    return [d.TextDelta(message.content or ""), d.UsageDelta(usage.prompt_tokens, usage.completion_tokens), d.Finish()]


async def typed_chat_stream(client: Any, native: dict[str, Any]) -> int:
    count = 0
    async with await client.sdk.chat.completions.create(**native, stream=True) as chunks:
        async for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                d.TextDelta(chunk.choices[0].delta.content)
            count += 1
    return count


# -- the raw path: the plugin itself ---------------------------------------------------------------------------

async def raw_invoke(client: Any, native: dict[str, Any]) -> Any:
    return await plugin.gateway_invoke(client, native)


async def raw_stream(client: Any, native: dict[str, Any]) -> int:
    count = 0
    async for batch in await plugin.gateway_stream(client, native):
        count += len(batch)
    return count


async def measure(run: Callable[..., Any], client: Any, native: dict[str, Any], n: int) -> float:
    for _ in range(50):  # warm up connections and caches
        await run(client, native)
    start = time.process_time()
    for _ in range(n):
        await run(client, native)
    return (time.process_time() - start) * 1000 / n


async def main(n: int, base_url: str) -> None:
    print(f"CPU-ms per request, N={n} (client side only)")
    print(f"{'mode':<18}{'call':<12}{'raw':>8}{'typed':>8}")
    for mode, typed_json, typed_stream in (
        ("responses", typed_responses, typed_responses_stream),
        ("chat_completions", typed_chat, typed_chat_stream),
    ):
        settings = ProviderSettings(name="bench", type="openai", api_key="sk-bench", base_url=base_url,
                                    options={"mode": mode})
        options = convert_options(Options, settings)
        client = plugin.gateway_create_client(settings, options)
        for stream, raw, typed in ((False, raw_invoke, typed_json), (True, raw_stream, typed_stream)):
            request = decode_request(BODY)
            request.stream = stream
            native = plugin.gateway_translate(request, "gpt-4o-mini", options)
            raw_ms = await measure(raw, client, native, n)
            typed_ms = await measure(typed, client, native, n)
            print(f"{mode:<18}{'stream' if stream else 'json':<12}{raw_ms:>8.3f}{typed_ms:>8.3f}")
        await plugin.gateway_close_client(client)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    queue: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(queue,), daemon=True)
    server.start()
    port = queue.get(timeout=30)
    time.sleep(0.5)
    try:
        asyncio.run(main(count, f"http://127.0.0.1:{port}/v1"))
    finally:
        server.terminate()
        server.join(5)
