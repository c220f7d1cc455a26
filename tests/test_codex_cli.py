"""Codex CLI (``@openai/codex``, installed with ``npm ci`` from tests/codex_cli) as a client of the gateway's
Responses API, non-interactive (``codex exec``), through every provider's fake upstream (OpenAI in Responses
and in Chat Completions mode, Anthropic, Gemini) and the mock: a plain text turn, a tool turn (Codex runs a
shell command in its own ``workspace-write`` sandbox and sends the output back), a multi-step turn (two
commands in sequence, then the answer) and a resumed session (``codex exec resume``: a second turn on the
whole history). Gemini is a Gemini 3 model, whose fake refuses calls sent back without their thought
signature: the signatures reach Codex as encrypted reasoning and must come back from it.

Codex runs with its default tools and settings: it sends ``store: false`` with ``include:
["reasoning.encrypted_content"]`` and the whole history on every call, ``parallel_tool_calls``,
``client_metadata``, its ``session-id`` / ``thread-id`` headers and tools of several types (functions such as
``exec_command``, a ``namespace``, ``web_search``); the gateway must store nothing. The fakes answer under the
echo protocol: ``say:<text>`` is a plain answer, ``use:exec_command {"cmd": ...}`` a scripted call of Codex's
shell tool (several of them one after the other), and the turn after a tool result echoes it (``tool said:
...``). Each run has its own HOME and ``CODEX_HOME`` (a config.toml naming the gateway as its model provider,
update checks, analytics and OpenTelemetry off, every key checked by ``--strict-config``) and nothing but the
gateway to talk to.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway_core.app import create_app
from gateway_core.config import config_from_data
from gateway_core.testing import RecordedRequest, UpstreamRecorder, serve_asgi

from .fakes import fake_upstream
from .npm_clients import npm_ci

FOLDER = Path(__file__).parent / "codex_cli"
CODEX = FOLDER / "node_modules" / ".bin" / "codex"
TOKEN = "gateway-client-token-for-codex"
PROVIDERS = {  # provider instance -> (the model Codex is told to use, the upstream path its calls reach)
    "mock": ("mock-large", None),
    "openai": ("openai/gpt-5", "/v1/responses"),
    "openai-chat": ("openai-chat/gpt-4o-mini", "/v1/chat/completions"),
    "anthropic": ("anthropic/claude-sonnet-4-5", "/v1/messages"),
    "google": ("google/gemini-3-flash-preview", "/v1beta/models/gemini-3-flash-preview:streamGenerateContent"),
}
UPSTREAMS = {  # provider instance -> (fake upstream package, path under its base URL, options)
    "openai": ("openai", "/v1", {}),
    "openai-chat": ("openai", "/v1", {"mode": "chat_completions"}),
    "anthropic": ("anthropic", "", {}),
    "google": ("google", "", {}),
}
CONFIG = """\
model = "{model}"
model_provider = "gateway"
check_for_update_on_startup = false

[model_providers.gateway]
name = "gateway"
base_url = "{gateway}/v1"
wire_api = "responses"
env_key = "GATEWAY_API_KEY"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

[otel]
exporter = "none"
"""


@dataclass
class Gateway:
    """The gateway in front of the mock and every fake, with what each received and the gateway's store."""

    url: str
    received: UpstreamRecorder
    upstreams: dict[str, UpstreamRecorder]
    store: Path

    def calls(self, session: str) -> list[dict[str, Any]]:
        """The bodies of the model calls one Codex session made (by its ``session-id`` header)."""
        return [request.json for request in self.received.requests
                if request.headers.get("session-id") == session and request.path == "/v1/responses"]

    def upstream_calls(self, provider: str) -> list[RecordedRequest]:
        """The model calls the provider's fake received (none for the mock)."""
        fake = self.upstreams.get(provider)
        return [] if fake is None else [request for request in fake.requests if request.method == "POST"]

    def stored(self) -> int:
        """How many responses and item index rows the gateway's store holds."""
        with sqlite3.connect(self.store) as db:
            return sum(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in ("responses", "items"))


@dataclass
class Run:
    """One ``codex exec``: its session id, final message and the shell commands it ran (command, output)."""

    session: str
    answer: str
    commands: list[tuple[str, str]]


@pytest.fixture(scope="module")
def codex() -> str:
    """The ``codex`` command, installed from tests/codex_cli/package-lock.json (npm ci) on first use."""
    npm_ci(FOLDER, CODEX)
    return str(CODEX)


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    """One gateway (recording what Codex sends it) in front of the mock and a recorded fake per instance."""
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        upstreams = {name: UpstreamRecorder(fake_upstream(package).create_app())
                     for name, (package, _, _) in UPSTREAMS.items()}
        providers: dict[str, Any] = {"mock": {"type": "mock"}}
        for name, (package, path, options) in UPSTREAMS.items():
            url = stack.enter_context(serve_asgi(upstreams[name]))
            providers[name] = {"type": package, "api_key": f"sk-{name}-upstream-key-0123456789",
                               "base_url": url + path, "options": options}
        store = Path(folder) / "responses.sqlite3"
        settings = config_from_data({"providers": providers, "store": {"backend": "sqlite", "path": str(store)}})
        received = UpstreamRecorder(create_app(settings))
        url = stack.enter_context(serve_asgi(received, settings=settings.server))
        yield Gateway(url, received, upstreams, store)


def run_codex(codex: str, gateway: Gateway, home: Path, model: str, prompt: str, *, resume: bool = False) -> Run:
    """``codex exec`` of ``prompt`` in a workdir under ``home``, with ``home`` as HOME and CODEX_HOME in it
    (made on the first run; ``resume`` continues the last session there); asserts it exits 0."""
    codex_home, workdir = home / ".codex", home / "work"
    if not resume:
        codex_home.mkdir(parents=True)
        workdir.mkdir()
        (codex_home / "config.toml").write_text(CONFIG.format(model=model, gateway=gateway.url))
    environment = {"PATH": os.environ["PATH"], "HOME": str(home), "CODEX_HOME": str(codex_home),
                   "GATEWAY_API_KEY": TOKEN}
    command = [codex, "exec", "--json", "--strict-config", "--skip-git-repo-check", "--sandbox", "workspace-write",
               "--cd", str(workdir), *(["resume", "--last"] if resume else []), prompt]
    result = subprocess.run(command, cwd=workdir, env=environment, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=180, check=False)
    assert result.returncode == 0, f"codex failed:\n{result.stdout}\n{result.stderr}"
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    items = [event["item"] for event in events if event["type"] == "item.completed"]
    assert events[-1]["type"] == "turn.completed", result.stdout
    return Run(session=next(event["thread_id"] for event in events if event["type"] == "thread.started"),
               answer=[item["text"] for item in items if item["type"] == "agent_message"][-1],
               commands=[(item["command"], item["aggregated_output"]) for item in items
                         if item["type"] == "command_execution"])


def check_calls(gateway: Gateway, run: Run, provider: str, count: int, before: int) -> list[dict[str, Any]]:
    """Codex made ``count`` model calls, each ``store: false`` asking for encrypted reasoning, all served by
    ``provider`` (its fake had ``before`` calls), and the gateway stored nothing; returns their bodies."""
    calls = gateway.calls(run.session)
    assert len(calls) == count
    for body in calls:
        assert body["store"] is False and "reasoning.encrypted_content" in body["include"]
        assert "exec_command" in [tool.get("name") for tool in body["tools"]]
        assert {"function", "namespace", "web_search"} <= {tool["type"] for tool in body["tools"]}
    path = PROVIDERS[provider][1]
    if path is not None:
        upstream = gateway.upstream_calls(provider)[before:]
        assert [request.path for request in upstream] == [path] * count
        assert TOKEN not in json.dumps([dict(request.headers) for request in upstream])
    assert gateway.stored() == 0
    return calls


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_codex_text_turn(codex: str, gateway: Gateway, tmp_path: Path, provider: str) -> None:
    before = len(gateway.upstream_calls(provider))
    run = run_codex(codex, gateway, tmp_path, PROVIDERS[provider][0], "say: hello from codex")
    assert run.answer == "hello from codex" and run.commands == []
    check_calls(gateway, run, provider, 1, before)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_codex_runs_a_shell_command_and_sends_its_output_back(
    codex: str, gateway: Gateway, tmp_path: Path, provider: str
) -> None:
    before = len(gateway.upstream_calls(provider))
    prompt = 'Run this.\nuse:exec_command {"cmd": "echo codex-marker-$((6 * 7))"}'
    run = run_codex(codex, gateway, tmp_path, PROVIDERS[provider][0], prompt)
    assert [output for _, output in run.commands] == ["codex-marker-42\n"]  # the shell ran it
    assert run.answer.startswith("tool said:") and "codex-marker-42" in run.answer, run.answer
    calls = check_calls(gateway, run, provider, 2, before)
    outputs = [item for item in calls[1]["input"] if item.get("type") == "function_call_output"]
    assert len(outputs) == 1 and "codex-marker-42" in outputs[0]["output"]


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_codex_multi_step_turn(codex: str, gateway: Gateway, tmp_path: Path, provider: str) -> None:
    before = len(gateway.upstream_calls(provider))
    prompt = ('Two steps.\nuse:exec_command {"cmd": "echo first > steps.txt"}\n'
              'use:exec_command {"cmd": "echo second >> steps.txt && cat steps.txt"}')
    run = run_codex(codex, gateway, tmp_path, PROVIDERS[provider][0], prompt)
    assert len(run.commands) == 2 and "echo first > steps.txt" in run.commands[0][0]
    assert "echo second >> steps.txt && cat steps.txt" in run.commands[1][0]
    assert (tmp_path / "work" / "steps.txt").read_text() == "first\nsecond\n"  # in its workdir, in order
    assert run.answer.startswith("tool said:") and run.answer.endswith("first\nsecond\n"), run.answer
    calls = check_calls(gateway, run, provider, 3, before)
    assert [sum(item.get("type") == "function_call_output" for item in body["input"]) for body in calls] == [0, 1, 2]
    if provider == "google":  # Gemini's thought signatures went to Codex as encrypted reasoning and came back
        reasoning = [item for item in calls[-1]["input"] if item["type"] == "reasoning"]
        assert len(reasoning) == 2 and all(item["encrypted_content"] for item in reasoning)
        parts = [part for content in gateway.upstream_calls(provider)[-1].json["contents"] for part in content["parts"]
                 if "functionCall" in part]
        assert [part.get("thoughtSignature") for part in parts] == [fake_upstream("google").sig("exec_command")] * 2


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_codex_resumed_session_sends_the_whole_history_back(
    codex: str, gateway: Gateway, tmp_path: Path, provider: str
) -> None:
    model = PROVIDERS[provider][0]
    before = len(gateway.upstream_calls(provider))
    first = run_codex(codex, gateway, tmp_path, model, 'Run this.\nuse:exec_command {"cmd": "echo resumed-marker"}')
    second = run_codex(codex, gateway, tmp_path, model, "history?", resume=True)
    assert second.session == first.session and second.commands == []
    turns = second.answer.split(" | ")  # every turn the upstream received, as role:text
    assert any(turn.startswith("assistant:call exec_command(") and "echo resumed-marker" in turn for turn in turns)
    assert any(turn.startswith("assistant:tool said:") and "resumed-marker" in turn for turn in turns)
    assert turns[-1] == "user:history?"
    replayed = check_calls(gateway, second, provider, 3, before)[-1]["input"]
    assert [item.get("type") for item in replayed if item.get("type") != "reasoning"][-4:] == [
        "function_call", "function_call_output", "message", "message"]

