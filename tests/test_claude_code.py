"""Claude Code (``@anthropic-ai/claude-code``, installed with ``npm ci`` from tests/claude_code) as a client of
the gateway's Messages dialect, non-interactive (``claude -p``), through every provider's fake upstream: a
plain text turn, and a turn where it reads a file with its Read tool and answers from it.

The fakes answer under the echo protocol: ``say:<text>`` is a plain answer although Claude Code always sends
its tools, ``use:Read {...}`` a scripted call of its Read tool, and the turn after a tool result echoes it
(``tool said: ...``). Claude Code runs with its own HOME and config folder, telemetry, update checks and
non-essential traffic off, and only ``ANTHROPIC_BASE_URL`` + ``ANTHROPIC_AUTH_TOKEN`` pointing at the gateway.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from gateway_core.testing import run_gateway, serve_asgi

from .fakes import fake_upstream
from .npm_clients import npm_ci

ROOT = Path(__file__).parents[1]
FOLDER = Path(__file__).parent / "claude_code"
CLAUDE = FOLDER / "node_modules" / ".bin" / "claude"
PROVIDERS = {  # provider -> the model Claude Code is told to use
    "mock": "mock-large",
    "openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-5",
    "google": "gemini-2.5-flash",
}


@pytest.fixture(scope="module")
def claude() -> str:
    """The ``claude`` command, installed from tests/claude_code/package-lock.json (npm ci) on first use."""
    npm_ci(FOLDER, CLAUDE)
    return str(CLAUDE)


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    """One gateway in front of the mock and the three fake upstreams."""
    with ExitStack() as stack:
        providers: dict[str, dict[str, str]] = {"mock": {"type": "mock"}}  # a config names the mock explicitly
        for kind, path in (("openai", "/v1"), ("anthropic", ""), ("google", "")):
            url = stack.enter_context(serve_asgi(fake_upstream(kind).create_app()))
            providers[kind] = {"type": kind, "api_key": f"sk-{kind}-upstream-key-0123456789", "base_url": url + path}
        yield stack.enter_context(run_gateway({"providers": providers}))


def run_claude(claude: str, gateway: str, home: Path, model: str, prompt: str) -> str:
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "ANTHROPIC_BASE_URL": gateway,
        "ANTHROPIC_AUTH_TOKEN": "gateway-client-token",
        "ANTHROPIC_MODEL": model,
        "ANTHROPIC_SMALL_FAST_MODEL": model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
        "DISABLE_TELEMETRY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    result = subprocess.run([claude, "-p", prompt, "--model", model], cwd=home, env=environment,
                            capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"claude failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_claude_code_text_and_tool_turns(claude: str, gateway: str, tmp_path: Path, provider: str) -> None:
    model = PROVIDERS[provider]
    assert run_claude(claude, gateway, tmp_path, model, "say: hello from claude code").strip() == (
        "hello from claude code")
    notes = tmp_path / "notes.txt"
    notes.write_text("the secret word is marmalade\n")
    answer = run_claude(claude, gateway, tmp_path, model, f'use:Read {{"file_path": "{notes}"}}')
    assert answer.startswith("tool said:") and "the secret word is marmalade" in answer, answer
