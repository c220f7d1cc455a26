"""What is measured: the benchmark paths, and the targets that serve them (the fake upstream directly, the
gateway, the peers), each with the exact request bytes it is sent for each path.

A path is one client request shape through one upstream API, JSON or streamed. Every target is sent the
same Open Responses body for a path (the peers get their own routing headers); ``direct`` is sent the
native body the gateway itself would send upstream, so ``gateway - direct`` is what the gateway adds.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from . import processes
from .loadgen import build_request
from .processes import Server
from .wire import APIS, GEMINI_MODEL, MAX_TOKENS, PROMPT, SYSTEM, TEXT, encode

API_KEY = "sk-bench-0000000000000000"


@dataclass(frozen=True)
class BenchPath:
    """One client request through one upstream API (``api`` is ``None`` for the gateway's built-in mock)."""

    name: str
    api: str | None
    kind: str
    model: str
    stream: bool
    ingress: str = "responses"
    """The API the client speaks to the gateway: ``responses``, or the ``chat`` / ``messages`` dialect."""

    @property
    def key(self) -> str:
        """``name/json`` or ``name/stream``."""
        return f"{self.name}/{'stream' if self.stream else 'json'}"


_ROUTES = [
    ("openai-responses", "openai-responses", "openai", "gpt-4o-mini"),
    ("openai-chat", "openai-chat", "openai", "openai-chat/gpt-4o-mini"),
    ("anthropic", "anthropic", "anthropic", "claude-sonnet-4-5"),
    ("gemini", "gemini", "google", GEMINI_MODEL),
    ("mock", None, "mock", "mock"),
]
_DIALECT_ROUTES = [  # the same upstreams as openai-chat and anthropic, the client speaking their API
    ("chat-ingress", "openai-chat", "openai", "openai-chat/gpt-4o-mini", "chat"),
    ("messages-ingress", "anthropic", "anthropic", "claude-sonnet-4-5", "messages"),
]
PATHS = [*(BenchPath(name, api, kind, model, stream) for name, api, kind, model in _ROUTES for stream in (False, True)),
         *(BenchPath(name, api, kind, model, stream, ingress)
           for name, api, kind, model, ingress in _DIALECT_ROUTES for stream in (False, True))]
"""Every path, JSON then stream for each route."""


def responses_body(path: BenchPath) -> bytes:
    """The Open Responses request of a path (the mock echoes its input, so it is sent the answer text)."""
    body: dict[str, object] = {"model": path.model, "max_output_tokens": MAX_TOKENS}
    if path.api is None:
        body["input"] = TEXT
    else:
        body.update(instructions=SYSTEM, input=PROMPT)
    if path.stream:
        body["stream"] = True
    return encode(body)


def gateway_request(path: BenchPath) -> tuple[str, dict[str, str], bytes]:
    """The URL path, headers and body a client of the gateway (or of a peer) sends for a path: an Open
    Responses request, or for a dialect path the upstream's own request, named with the gateway's model."""
    if path.ingress == "responses":
        return "/v1/responses", {}, responses_body(path)
    assert path.api is not None
    api = APIS[path.api]
    body = {**(api.stream_request if path.stream else api.json_request), "model": path.model}
    if path.ingress == "chat":
        return "/v1/chat/completions", {}, encode(body)
    return "/v1/messages", {"anthropic-version": "2023-06-01"}, encode(body)


def native_request(path: BenchPath) -> tuple[str, dict[str, str], bytes]:
    """The upstream URL path, headers and body of a path's native request (what a client sends directly)."""
    assert path.api is not None
    api = APIS[path.api]
    body = encode(api.stream_request if path.stream else api.json_request)
    if path.api == "openai-responses":
        return "/v1/responses", {"Authorization": f"Bearer {API_KEY}"}, body
    if path.api == "openai-chat":
        return "/v1/chat/completions", {"Authorization": f"Bearer {API_KEY}"}, body
    if path.api == "anthropic":
        return "/v1/messages", {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}, body
    method = "streamGenerateContent?alt=sse" if path.stream else "generateContent"
    return f"/v1beta/models/{GEMINI_MODEL}:{method}", {"x-goog-api-key": API_KEY}, body


@dataclass
class Target:
    """A server under test and, per path key, its request bytes or why it cannot serve the path."""

    name: str
    description: str
    server: Server
    requests: dict[str, bytes | str] = field(default_factory=dict)


def installed_kinds() -> dict[str, str]:
    """Provider kinds whose plugin imports, and for the others why not (``kind -> ""`` or the reason)."""
    found = {"mock": ""}
    for entry in entry_points(group="gateway_provider"):
        try:
            entry.load()
            found[entry.name] = ""
        except Exception as exc:  # report, never fail the benchmark on a broken plugin
            found[entry.name] = f"its plugin failed to import: {type(exc).__name__}: {exc}"
    for kind in ("openai", "anthropic", "google"):
        found.setdefault(kind, f"gateway-{kind} is not installed")
    return found


def direct_target(upstream: Server) -> Target:
    """The fake upstream itself, sent each path's native request."""
    target = Target("direct", "the fake upstream, native requests (the floor)", upstream)
    for path in PATHS:
        if path.api is None:
            target.requests[path.key] = "the built-in mock has no upstream"
            continue
        url, headers, body = native_request(path)
        target.requests[path.key] = build_request("127.0.0.1", upstream.port, url, headers, body)
    return target


def gateway_config(port: int, upstream_port: int, kinds: dict[str, str], store: str,
                   store_path: Path, workers: int = 1) -> dict[str, object]:
    """``workers`` workers (one by default), every installed provider pointed at the fake upstream, the response
    store as given (``sqlite``, the default backend, in the run's folder; or ``none``). JSON is valid YAML."""
    base = f"http://127.0.0.1:{upstream_port}"
    candidates: dict[str, dict[str, object]] = {
        "openai": {"type": "openai", "api_key": API_KEY, "base_url": f"{base}/v1", "options": {"mode": "responses"}},
        "openai-chat": {"type": "openai", "api_key": API_KEY, "base_url": f"{base}/v1",
                        "options": {"mode": "chat_completions"}},
        "anthropic": {"type": "anthropic", "api_key": API_KEY, "base_url": base},
        "google": {"type": "google", "api_key": API_KEY, "base_url": base},
        "mock": {"type": "mock"},
    }
    providers = {name: settings for name, settings in candidates.items() if kinds.get(str(settings["type"])) == ""}
    return {"server": {"host": "127.0.0.1", "port": port, "workers": workers, "log_level": "warning",
                       "access_log": False},
            "providers": providers, "store": {"backend": store, "path": str(store_path)},
            "compaction": {"key": "bench-compaction-key-shared-by-workers"}}


def start_gateway(upstream: Server, kinds: dict[str, str], log_dir: Path, *, store: str,
                  name: str = "gateway", workers: int = 1, cores: int | str = processes.SERVER_CORE,
                  overlay: dict[str, dict[str, object]] | None = None, env_extra: dict[str, str] | None = None
                  ) -> Server:
    """``gateway serve`` with one worker on the server core (or ``workers`` on ``cores``), every installed
    provider configured; ``overlay`` updates sections of the config (``{"metrics": {"enabled": False}}``) and
    ``env_extra`` its environment."""
    port = processes.free_port()
    config = log_dir / f"{name}.yaml"
    settings = gateway_config(port, upstream.port, kinds, store, log_dir / f"{name}-responses.sqlite3", workers)
    for section, values in (overlay or {}).items():
        current = settings.get(section)
        settings[section] = {**current, **values} if isinstance(current, dict) else values
    config.write_text(json.dumps(settings, indent=2))
    env = {key: value for key, value in os.environ.items() if not key.endswith("_API_KEY")}
    env.update(env_extra or {})
    server = processes.start(name, [sys.executable, "-m", "gateway_core", "serve", "--config", str(config)],
                             core=cores, port=port, log_dir=log_dir, env=env)
    processes.wait_ready(server, "/readyz", timeout=60)
    return server


def gateway_target(server: Server, kinds: dict[str, str], name: str = "gateway",
                   description: str = "this gateway, one worker",
                   extra_headers: dict[str, str] | None = None) -> Target:
    """The gateway, sent each path's Open Responses (or dialect) request, with ``extra_headers`` (a key)."""
    target = Target(name, description, server)
    for path in PATHS:
        reason = kinds.get(path.kind, "")
        if reason:
            target.requests[path.key] = f"provider plugin '{path.kind}' unavailable: {reason}"
        else:
            url, headers, body = gateway_request(path)
            target.requests[path.key] = build_request("127.0.0.1", server.port, url,
                                                      {**headers, **(extra_headers or {})}, body)
    return target
