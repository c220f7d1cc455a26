"""Configuration: YAML with ``${VAR}`` / ``${VAR:-default}`` from the environment, validated into typed settings.

The YAML is parsed first; ``${VAR}`` is then substituted into the parsed string values, so an environment
value is only ever a value (it cannot add keys or structure), and a value that must be a number or a boolean
(``port: ${PORT}``) is converted from its text. Every problem is reported as :class:`ConfigError` naming the
file, the key and what is wrong, never the value (it may be a substituted secret). The schema is documented
key by key in ``config/gateway.example.yaml``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import yaml
from msgspec import Meta, Struct, field

from .auth.settings import AuthSettings, UsageSettings
from .contract.settings import ProviderSettings
from .prices import Price

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_PATH = re.compile(r" - at `\$(.*)`$")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file, the key and the problem."""


class ServerSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """``server``: where and how the gateway listens, and what it accepts from clients."""

    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65535)] = 8080
    workers: Annotated[int, Meta(ge=1)] | Literal["auto"] = 1
    allowed_hosts: list[str] | None = None
    allowed_origins: list[str] = field(default_factory=list)
    cors: list[str] = field(default_factory=list)
    max_body_bytes: Annotated[int, Meta(ge=1024)] = 32 * 1024 * 1024
    body_timeout: Annotated[float, Meta(gt=0)] = 60.0
    header_timeout: Annotated[float, Meta(gt=0)] = 10.0
    max_header_bytes: Annotated[int, Meta(ge=1024)] = 64 * 1024
    keep_alive_timeout: Annotated[float, Meta(gt=0)] = 5.0
    max_connections: Annotated[int, Meta(ge=1)] = 1000
    max_websockets: Annotated[int, Meta(ge=1)] = 256
    websocket_idle_seconds: Annotated[float, Meta(gt=0)] = 300.0
    max_input_items: Annotated[int, Meta(ge=1)] = 4096
    max_tools: Annotated[int, Meta(ge=1)] = 512
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = True
    log_format: Literal["text", "json"] = "text"
    log_stream: Literal["stderr", "stdout"] = "stderr"
    metrics_port: Annotated[int, Meta(ge=1, le=65535)] | None = None
    ready_check_seconds: Annotated[float, Meta(gt=0)] = 2.0
    ready_grace_seconds: Annotated[float, Meta(ge=0)] = 10.0
    shutdown_grace: Annotated[float, Meta(ge=0)] = 30.0
    websocket_max_seconds: Annotated[float, Meta(gt=0)] = 3600.0


Seconds = Annotated[float, Meta(gt=0)]


class TargetSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """One target of a model group: a routable model (``instance/model``) and its knobs."""

    model: str
    weight: Annotated[float, Meta(gt=0)] = 1.0
    price: Price | None = None
    timeout: Seconds | None = None
    first_byte_timeout: Seconds | None = None
    max_retries: Annotated[int, Meta(ge=0)] | None = None


class ModelGroup(Struct, forbid_unknown_fields=True, kw_only=True):
    """An alias over several targets and the policy that orders them."""

    targets: Annotated[list[TargetSettings], Meta(min_length=1)]
    policy: Literal["fallback", "weighted", "cheapest", "fastest"] = "fallback"
    sticky: Literal["user", "safety_identifier"] | None = None


class RoutingSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """``routing``: retries, timeouts, cooldowns and limits, for every provider alike."""

    max_retries: Annotated[int, Meta(ge=0)] = 2
    backoff_initial: Annotated[float, Meta(ge=0)] = 0.25
    backoff_max: Annotated[float, Meta(ge=0)] = 8.0
    max_retry_after: Annotated[float, Meta(ge=0)] = 30.0
    timeout: Seconds = 600.0
    first_byte_timeout: Seconds = 120.0
    deadline: Seconds = 900.0
    cooldown_failures: Annotated[int, Meta(ge=1)] = 5
    cooldown_seconds: Annotated[float, Meta(ge=0)] = 30.0
    max_in_flight: Annotated[int, Meta(ge=1)] = 4096
    max_in_flight_per_target: Annotated[int, Meta(ge=1)] = 1024
    explore: Annotated[float, Meta(ge=0, le=1)] = 0.05
    unsupported_tools: Literal["drop", "refuse"] = "drop"
    """A tool the target's provider cannot run: left out (logged, named in ``x-gateway-dropped-tools``), or
    refused with a 400 naming every such tool."""
    keepalive_seconds: Annotated[float, Meta(ge=0)] = 10.0
    """A stream (SSE) that sent nothing for this long gets a ``: keepalive`` comment line, before its first
    event (while retries and fallback still run) and between events, so proxies and load balancers do not cut
    it as idle; the first comment commits the response to status 200 (a failure after it ends the stream
    with the dialect's in-stream error). WebSocket connections are pinged this often. 0: neither."""


class StoreSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """``store``: which backend keeps stored responses, and for how long."""

    backend: Literal["sqlite", "redis", "none"] = "sqlite"
    path: str = ""  # sqlite: the file (its folder is created if missing); default: default_store_path()
    url: str = "redis://127.0.0.1:6379/0"  # redis
    retention_days: Annotated[float, Meta(gt=0)] = 30.0
    max_record_bytes: Annotated[int, Meta(ge=1)] = 16 * 1024 * 1024
    write_retry_seconds: Annotated[float, Meta(ge=0)] = 60.0  # a failed write is tried again for this long
    max_pending_writes: Annotated[int, Meta(ge=1)] = 10000  # answered, not yet written; past it: store: false
    max_bytes: Annotated[int, Meta(ge=1)] | None = 1024 * 1024 * 1024  # sqlite: evict the oldest past this


class CompactionSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """``compaction``: the secret that seals compaction items (any random string, e.g. 32 random bytes in
    base64) and how long a sealed item stays valid. Without a key, one is made at startup and items do not
    survive a restart (and several workers cannot share them, so startup refuses that)."""

    key: str | None = None
    ttl_seconds: Annotated[float, Meta(gt=0)] = 30 * 86400.0


class MetricsSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """``metrics``: Prometheus metrics on ``/metrics`` (or ``server.metrics_port``)."""

    enabled: bool = True
    key_label: bool = False
    """Label tokens, cost and requests by gateway key id (one series per key: off by default)."""


class TracingSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """``tracing``: OpenTelemetry traces (``pip install 'gateway-core[otel]'``; the exporter is set by the
    standard ``OTEL_*`` variables)."""

    enabled: bool = False
    capture_content: bool = False
    """Record prompt and answer content in spans (off: content never leaves the gateway in a trace)."""


class GatewayConfig(Struct, forbid_unknown_fields=True, kw_only=True):
    """The whole configuration file."""

    server: ServerSettings = field(default_factory=ServerSettings)
    providers: dict[str, ProviderSettings] = field(default_factory=dict)
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    compaction: CompactionSettings = field(default_factory=CompactionSettings)
    store_default: bool = True
    aliases: dict[str, str | ModelGroup] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)
    auth: AuthSettings = field(default_factory=AuthSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    tracing: TracingSettings = field(default_factory=TracingSettings)
    usage: UsageSettings = field(default_factory=UsageSettings)
    prices: dict[str, Price] = field(default_factory=dict)
    """Prices per million tokens by ``instance/model`` (or model), over the bundled price table."""
    source: str = "<defaults>"


def substitute_env(text: str, environ: Mapping[str, str]) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``; an unset ``${VAR}`` without default becomes empty."""

    def replace(match: re.Match[str]) -> str:
        value = environ.get(match.group(1))
        if value:
            return value
        return match.group(2) if match.group(2) is not None else ""

    return _ENV.sub(replace, text)


def substitute_values(data: Any, environ: Mapping[str, str]) -> Any:
    """``data`` (parsed YAML) with :func:`substitute_env` applied to every string value (keys stay as written)."""
    if isinstance(data, str):
        return substitute_env(data, environ) if "${" in data else data
    if isinstance(data, dict):
        return {key: substitute_values(value, environ) for key, value in data.items()}
    if isinstance(data, list):
        return [substitute_values(value, environ) for value in data]
    return data


def parse_config(text: str, source: str, environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """Parse YAML text into a :class:`GatewayConfig`; ``source`` names the file in error messages."""
    environ = os.environ if environ is None else environ
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {_yaml_problem(exc)}") from None
    return config_from_data(substitute_values(data or {}, environ), source)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """Where and what the YAML error is, without the snippet of text PyYAML would quote."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else problem


def config_from_data(data: Any, source: str = "<dict>") -> GatewayConfig:
    """Validate already-parsed data (a dict, as from YAML) into a :class:`GatewayConfig`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys (server, providers, aliases, prefixes)")
    providers = data.get("providers") or {}
    if not isinstance(providers, dict):
        raise ConfigError(f"{source}: key 'providers': must be a mapping of instance name to settings")
    aliases = data.get("aliases") or {}
    if not isinstance(aliases, dict):
        raise ConfigError(f"{source}: key 'aliases': must be a mapping of alias to a model or a model group")
    config = _convert({**data, "providers": {}, "aliases": {}}, GatewayConfig, source, "")
    config.providers = {
        str(name): _convert(settings or {}, ProviderSettings, source, f"providers.{name}")
        for name, settings in providers.items()
    }
    config.aliases = {
        str(name): target if isinstance(target, str) else _convert(target, ModelGroup, source, f"aliases.{name}")
        for name, target in aliases.items()
    }
    config.source = source
    for name, settings in config.providers.items():
        settings.name = name
        settings.type = settings.type or name
        if settings.api_key == "":
            settings.api_key = None
    for alias, target in config.aliases.items():
        if not target:
            raise ConfigError(f"{source}: key 'aliases.{alias}': must name a model, e.g. 'openai/gpt-4o-mini'")
    return config


def convert_options(options_type: type[Any] | None, settings: ProviderSettings, source: str = "<settings>") -> Any:
    """An instance's ``options`` as the plugin's typed Struct (``ProviderInfo.options``), checked once at startup.

    Problems are :class:`ConfigError` naming ``providers.<name>.options.<key>``. A Struct may define
    ``for_instance(settings) -> Struct`` to fill defaults that depend on the rest of the instance's settings
    (e.g. on ``base_url``); a ``ValueError`` or ``TypeError`` from it (or from ``__post_init__``) is a config
    error too. Without ``options_type`` the raw mapping is handed on unchanged."""
    if options_type is None:
        return settings.options
    prefix = f"providers.{settings.name}.options"
    options = _convert(settings.options, options_type, source, prefix)
    for_instance = getattr(options, "for_instance", None)
    if for_instance is None:
        return options
    try:
        return for_instance(settings)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{source}: key '{prefix}': {exc}") from None


def _convert(data: Any, kind: type[Any], source: str, prefix: str) -> Any:
    """``msgspec.convert`` with errors as ``file: key 'a.b': problem``. Not strict: a substituted ``${VAR}`` is
    text, and ``"8080"`` must still be a port."""
    try:
        return msgspec.convert(data, kind, str_keys=True, strict=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _PATH.search(text)
        path = match.group(1) if match else ""
        problem = text[: match.start()] if match else text
        key = (prefix + path).lstrip(".") or "(top level)"
        raise ConfigError(f"{source}: key '{key}': {problem}") from None


def load_config(path: str | os.PathLike[str] | None) -> GatewayConfig:
    """Load the config file at ``path`` (``None``: defaults only)."""
    if path is None:
        return GatewayConfig()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the config file: {exc.strerror or exc}") from None
    return parse_config(text, str(file))
