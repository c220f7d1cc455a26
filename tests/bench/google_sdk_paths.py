"""CPU per request: google-genai's typed path vs this plugin's raw path, against the fake upstream.

The fake upstream runs in a subprocess, so ``time.process_time`` counts only the client side (SDK + plugin).
Usage: ``python tests/bench/google_sdk_paths.py [N]``. A bench script, not a test.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

import msgspec

from gateway_core import ProviderSettings
from gateway_core.contract import deltas as d
from gateway_core.decode import decode_request
from gateway_core.testing import free_port
from gateway_google import plugin
from gateway_google.options import GoogleOptions

PROMPT = " ".join(f"word{i}" for i in range(40))  # a 40-chunk stream, a 40-word answer
BODY = {"model": "gemini-2.5-flash", "instructions": "Be brief.", "input": PROMPT, "temperature": 0.5}


def typed_deltas(response: Any) -> list[d.Delta]:
    out: list[d.Delta] = []
    for part in response.candidates[0].content.parts or ():
        if part.text:
            out.append(d.TextDelta(part.text))
    usage = response.usage_metadata
    if usage is not None:
        out.append(d.UsageDelta(input_tokens=usage.prompt_token_count, output_tokens=usage.candidates_token_count))
    return out


async def main(n: int) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", f"import uvicorn; from gateway_google.testing.fake_upstream import create_app; "
         f"uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning')"])
    try:
        await asyncio.sleep(1.5)
        settings = ProviderSettings(name="google", type="google", api_key="k", base_url=f"http://127.0.0.1:{port}")
        options = GoogleOptions()
        client = plugin.gateway_create_client(settings, options)
        from google.genai import types

        request = decode_request(msgspec.json.encode(BODY))
        config = types.GenerateContentConfig(
            system_instruction="Be brief.", temperature=0.5,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
        contents = [types.Content(role="user", parts=[types.Part(text=PROMPT)])]

        async def raw_json() -> None:
            native = plugin.gateway_translate(request, "gemini-2.5-flash", options)
            await plugin.gateway_invoke(client, native)

        async def raw_stream() -> None:
            native = plugin.gateway_translate(request, "gemini-2.5-flash", options)
            async for _ in await plugin.gateway_stream(client, native):
                pass

        async def typed_json() -> None:
            response = await client.sdk.aio.models.generate_content(model="gemini-2.5-flash", contents=contents,
                                                                    config=config)
            typed_deltas(response)

        async def typed_stream() -> None:
            async for chunk in await client.sdk.aio.models.generate_content_stream(
                    model="gemini-2.5-flash", contents=contents, config=config):
                typed_deltas(chunk)

        results = {}
        for name, call in [("typed json", typed_json), ("raw json", raw_json),
                           ("typed stream", typed_stream), ("raw stream", raw_stream)]:
            for _ in range(20):
                await call()
            start = time.process_time()
            for _ in range(n):
                await call()
            results[name] = (time.process_time() - start) / n * 1000
        for name, ms in results.items():
            print(f"{name:13s} {ms:6.2f} CPU-ms per request")
        print(json.dumps({key: round(value, 2) for key, value in results.items()}))
        await plugin.gateway_close_client(client)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
