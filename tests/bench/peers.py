"""The peers: LiteLLM's proxy and the Portkey gateway, installed on first use, pinned like the gateway.

- ``litellm``: ``litellm[proxy]`` in its own virtualenv (``<peers-dir>/litellm``), one uvicorn worker, a
  config with one model per path pointed at the fake upstream; sent the gateway's own ``/v1/responses``
  bodies (the model names are the same).
- ``portkey``: ``@portkey-ai/gateway`` from npm under ``<peers-dir>/portkey``, run with ``node``; sent the
  same ``/v1/responses`` bodies, routed with ``x-portkey-provider`` / ``x-portkey-custom-host`` headers.
- ``portkey-chat``: the same Portkey process through ``/v1/chat/completions`` (its native API), for the
  upstreams its ``/v1/responses`` does not reach. A reference only.
- ``baseline`` (``--baseline REF``): this gateway as it was at a git revision, built from ``git archive`` into
  its own virtualenv (``<peers-dir>/gateway-<sha>``) and run with the same config as the gateway under test,
  so a change is measured before and after in one run.

Every path is attempted: what a peer answers when it cannot serve one (an error status, a 500 on streams)
is what the report shows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import processes
from .loadgen import build_request
from .processes import Server
from .targets import API_KEY, PATHS, BenchPath, Target, gateway_request, responses_body
from .wire import ANTHROPIC_MODEL, GEMINI_MODEL, MAX_TOKENS, OPENAI_MODEL, PROMPT, SYSTEM, encode

LITELLM_VERSION = "1.106.12"  # the newest whose [proxy] extra resolves on the registry here; never 1.107.0
PORTKEY_VERSION = "1.15.2"
LITELLM_MASTER_KEY = "sk-7c1e0b9a4d2f4e8a9b3c5d6e7f8a9b0c"
PEERS = ("litellm", "portkey")


def _run(command: list[str], log: Path) -> None:
    with log.open("ab") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}); see {log}")


def version_of(name: str, peers_dir: Path) -> str:
    """The installed version of a peer (and node's, for Portkey)."""
    if name == "litellm":
        python = peers_dir / "litellm" / "bin" / "python"
        code = "import importlib.metadata as m; print(m.version('litellm'))"
        return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False).stdout.strip()
    package = peers_dir / "portkey" / "node_modules" / "@portkey-ai" / "gateway" / "package.json"
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return f"{json.loads(package.read_text())['version']} on node {node}"


# --------------------------------------------------------------------------------------------------------
# LiteLLM


def install_litellm(peers_dir: Path, log_dir: Path) -> Path:
    """``<peers-dir>/litellm``, a virtualenv with ``litellm[proxy]`` (created when missing)."""
    venv = peers_dir / "litellm"
    command = venv / "bin" / "litellm"
    if not command.exists():
        print(f"installing litellm[proxy]=={LITELLM_VERSION} into {venv} ...", flush=True)
        _run([sys.executable, "-m", "venv", str(venv)], log_dir / "litellm-install.log")
        _run([str(venv / "bin" / "pip"), "install", "--quiet", f"litellm[proxy]=={LITELLM_VERSION}"],
             log_dir / "litellm-install.log")
    return command


def litellm_config(upstream_port: int) -> dict[str, object]:
    """One model per path, named as the gateway names it, pointed at the fake upstream."""
    base = f"http://127.0.0.1:{upstream_port}"
    models = [
        ("gpt-4o-mini", f"openai/{OPENAI_MODEL}", f"{base}/v1"),  # native Responses API upstream
        ("openai-chat/gpt-4o-mini", f"custom_openai/{OPENAI_MODEL}", f"{base}/v1"),  # bridged to Chat Completions
        ("claude-sonnet-4-5", f"anthropic/{ANTHROPIC_MODEL}", base),
        (GEMINI_MODEL, f"gemini/{GEMINI_MODEL}", base),
    ]
    return {"model_list": [{"model_name": name, "litellm_params": {"model": model, "api_base": api_base,
                                                                    "api_key": API_KEY}}
                           for name, model, api_base in models]}


def start_litellm(peers_dir: Path, upstream: Server, log_dir: Path, *, workers: int = 1,
                  cores: int | str = processes.SERVER_CORE) -> Target:
    """LiteLLM's proxy, one worker on the server core (or ``workers`` on ``cores``)."""
    command = install_litellm(peers_dir, log_dir)
    port = processes.free_port()
    config = log_dir / "litellm.yaml"
    config.write_text(json.dumps(litellm_config(upstream.port), indent=2))
    env = {**os.environ, "LITELLM_MASTER_KEY": LITELLM_MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    server = processes.start("litellm", [str(command), "--config", str(config), "--host", "127.0.0.1",
                                         "--port", str(port), "--num_workers", str(workers)],
                             core=cores, port=port, log_dir=log_dir, env=env)
    processes.wait_ready(server, "/health/liveliness", timeout=180)
    target = Target("litellm", f"LiteLLM proxy {version_of('litellm', peers_dir)}, {workers} worker(s), "
                    "the same API as the gateway is sent", server)
    for path in PATHS:
        if path.api is None:
            target.requests[path.key] = "the mock is the gateway's own"
        else:
            url, headers, body = gateway_request(path)
            headers = {**headers, "Authorization": f"Bearer {LITELLM_MASTER_KEY}"}
            target.requests[path.key] = build_request("127.0.0.1", port, url, headers, body)
    return target


# --------------------------------------------------------------------------------------------------------
# The gateway at an earlier revision


def install_baseline(ref: str, peers_dir: Path, log_dir: Path) -> tuple[Path, str]:
    """``<peers-dir>/gateway-<sha>``: the revision's packages installed (not editable) in their own virtualenv."""
    sha = subprocess.run(["git", "-C", str(processes.REPO), "rev-parse", "--verify", f"{ref}^{{commit}}"],
                         capture_output=True, text=True, check=True).stdout.strip()
    venv = peers_dir / f"gateway-{sha[:12]}"
    python = venv / "bin" / "python"
    if not (venv / "installed").exists():
        print(f"installing the gateway at {sha[:12]} into {venv} ...", flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        source = venv / "src"
        source.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(processes.REPO), "archive", sha], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
        log = log_dir / "baseline-install.log"
        _run([sys.executable, "-m", "venv", str(venv)], log)
        packages = [str(source / "gateway-core"), *(str(path) for path in sorted((source / "providers").iterdir())
                                                    if (path / "pyproject.toml").exists())]
        _run([str(venv / "bin" / "pip"), "install", "--quiet", *packages], log)
        (venv / "installed").write_text(sha + "\n")
    return python, sha


def start_baseline(ref: str, peers_dir: Path, upstream: Server, kinds: dict[str, str], log_dir: Path,
                   store: str) -> Target:
    """The gateway at ``ref``, one worker on the server core, configured as the gateway under test."""
    from .targets import gateway_config

    python, sha = install_baseline(ref, peers_dir, log_dir)
    port = processes.free_port()
    config = log_dir / "baseline.yaml"
    config.write_text(json.dumps(gateway_config(port, upstream.port, kinds, store,
                                                log_dir / "baseline-responses.sqlite3"), indent=2))
    env = {key: value for key, value in os.environ.items() if not key.endswith("_API_KEY")}
    server = processes.start("baseline", [str(python), "-m", "gateway_core", "serve", "--config", str(config)],
                             core=processes.SERVER_CORE, port=port, log_dir=log_dir, env=env, cwd=log_dir)
    processes.wait_ready(server, "/readyz", timeout=60)
    target = Target("baseline", f"this gateway at {sha[:12]} ({ref}), one worker", server)
    for path in PATHS:
        reason = kinds.get(path.kind, "")
        target.requests[path.key] = (f"provider plugin '{path.kind}' unavailable: {reason}" if reason else
                                     build_request("127.0.0.1", port, *gateway_request(path)))
    return target


# --------------------------------------------------------------------------------------------------------
# Portkey


def install_portkey(peers_dir: Path, log_dir: Path) -> Path:
    """``<peers-dir>/portkey`` with ``@portkey-ai/gateway`` from npm (installed when missing)."""
    prefix = peers_dir / "portkey"
    script = prefix / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
    if not script.exists():
        if shutil.which("npm") is None:
            raise RuntimeError("npm is not installed (apt-get install nodejs npm)")
        print(f"installing @portkey-ai/gateway@{PORTKEY_VERSION} into {prefix} ...", flush=True)
        prefix.mkdir(parents=True, exist_ok=True)
        _run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(prefix),
              f"@portkey-ai/gateway@{PORTKEY_VERSION}"], log_dir / "portkey-install.log")
    return script


def _portkey_route(path: BenchPath, base: str) -> tuple[str, str]:
    """``(x-portkey-provider, x-portkey-custom-host)`` for a path's upstream."""
    return {
        "openai-responses": ("openai", f"{base}/v1"),
        "openai-chat": ("groq", f"{base}/v1"),  # an OpenAI-compatible Chat Completions provider of Portkey's
        "anthropic": ("anthropic", f"{base}/v1"),
        "gemini": ("google", f"{base}/v1beta"),
    }[path.api or ""]


def _chat_body(path: BenchPath) -> bytes:
    model = {"openai-chat": OPENAI_MODEL, "anthropic": ANTHROPIC_MODEL, "gemini": GEMINI_MODEL}[path.api or ""]
    body: dict[str, object] = {"model": model, "max_tokens": MAX_TOKENS, "messages": [
        {"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}]}
    if path.stream:
        body["stream"] = True
    return encode(body)


def start_portkey(peers_dir: Path, upstream: Server, log_dir: Path) -> list[Target]:
    """The Portkey gateway on node, on the server core; its ``/v1/responses`` and ``/v1/chat/completions``."""
    script = install_portkey(peers_dir, log_dir)
    port = processes.free_port()
    server = processes.start("portkey", ["node", str(script), f"--port={port}", "--headless"],
                             core=processes.SERVER_CORE, port=port, log_dir=log_dir)
    processes.wait_ready(server, "/", timeout=60)
    version = version_of("portkey", peers_dir)
    base = f"http://127.0.0.1:{upstream.port}"
    responses = Target("portkey", f"Portkey gateway {version}, /v1/responses", server)
    chat = Target("portkey-chat", f"Portkey gateway {version}, /v1/chat/completions (reference: another API)",
                  server)
    for path in PATHS:
        if path.api is None:
            responses.requests[path.key] = chat.requests[path.key] = "the mock is the gateway's own"
            continue
        if path.ingress != "responses":
            responses.requests[path.key] = chat.requests[path.key] = "measured on the Responses paths only"
            continue
        provider, host = _portkey_route(path, base)
        headers = {"x-portkey-provider": provider, "x-portkey-custom-host": host, "Authorization": f"Bearer {API_KEY}"}
        responses.requests[path.key] = build_request("127.0.0.1", port, "/v1/responses", headers, responses_body(path))
        if path.api == "openai-responses":
            chat.requests[path.key] = "a Chat Completions request has no Responses API upstream"
        else:
            chat_headers = {**headers, "x-portkey-provider": provider.replace("groq", "openai")}
            chat.requests[path.key] = build_request("127.0.0.1", port, "/v1/chat/completions", chat_headers,
                                                    _chat_body(path))
    return [responses, chat]
