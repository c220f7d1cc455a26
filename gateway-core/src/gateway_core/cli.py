"""The ``gateway`` command: ``serve``, ``providers``, ``check-config``, ``keys``, ``usage``."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from typing import Any

from .config import ConfigError, GatewayConfig, load_config
from .logs import configure_logging
from .plugins import PluginError, create_plugins
from .redact import mask_url
from .workers import resolve_workers


def _workers_argument(value: str) -> int | str:
    if value == "auto":
        return value
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1, or auto")
    return number


def _load(path: str | None) -> GatewayConfig:
    return load_config(path or os.environ.get("GATEWAY_CONFIG") or None)


def _serve(args: argparse.Namespace) -> int:
    from .app import create_app
    from .server import serve

    config = _load(args.config)
    server = config.server
    if args.log_stream:
        server.log_stream = args.log_stream
    configure_logging(server.log_level, server.log_stream)
    if args.host:
        server.host = args.host
    if args.port is not None:
        server.port = args.port
    if args.workers is not None:
        server.workers = args.workers
    check_exposure(config)
    server.workers = resolve_workers(server.workers)
    if server.workers > 1:
        if not config.compaction.key:
            raise ConfigError(f"{config.source}: key 'compaction.key': must be set when server.workers > 1 "
                              "(each worker would seal compaction items with its own key, and the others could "
                              "not open them); set it to a shared secret, e.g. `openssl rand -base64 32`")
        # each worker builds its own app (and its own SDK clients) from the same config file
        if args.config:
            os.environ["GATEWAY_CONFIG"] = os.path.abspath(args.config)
        os.environ["GATEWAY_HOST"] = server.host  # the bound address is an allowed Host in every worker
        # the workers' metrics meet in one folder (prometheus-client's multiprocess mode)
        metrics_dir = tempfile.mkdtemp(prefix="gateway-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        try:
            create_app(config)  # fail here, once, on a bad config or a missing plugin
            if config.metrics.enabled and server.metrics_port is not None:
                serve_metrics(server.host, server.metrics_port, None)
            serve("gateway_core.cli:app_from_environment", server, config.routing.keepalive_seconds)
        finally:
            shutil.rmtree(metrics_dir, ignore_errors=True)
        return 0
    serve(create_app(config), server, config.routing.keepalive_seconds)
    return 0


def serve_metrics(host: str, port: int, registry: Any) -> Any:
    """``server.metrics_port``: prometheus-client's own HTTP server on a thread (``registry`` None: the sum
    over every worker's metrics). It has no authentication: keep that port private."""
    from prometheus_client import CollectorRegistry, start_http_server

    if registry is None:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return start_http_server(port, addr=host, registry=registry)


def check_exposure(config: GatewayConfig) -> None:
    """Refuse to serve a non-loopback address with no gateway key, unless ``auth.allow_unauthenticated``."""
    import asyncio
    import logging

    from .auth.service import keys_exist
    from .edge import is_loopback

    if is_loopback(config.server.host) or asyncio.run(keys_exist(config)):
        return
    if not config.auth.allow_unauthenticated:
        raise ConfigError(
            f"{config.source}: key 'server.host': {config.server.host} is reachable from other machines and no "
            "gateway key is configured: anyone who reaches it could spend every provider key it holds. Set "
            "GATEWAY_ADMIN_KEY (or auth.admin_keys) and create keys, or set auth.allow_unauthenticated: true")
    logging.getLogger("gateway").warning(
        "serving %s with no gateway key (auth.allow_unauthenticated): anyone who reaches it can use it",
        config.server.host)


def app_from_environment():  # type: ignore[no-untyped-def]
    """Application factory for multi-worker serving (reads ``GATEWAY_CONFIG``)."""
    from .app import create_app

    config = _load(None)
    config.server.host = os.environ.get("GATEWAY_HOST") or config.server.host
    configure_logging(config.server.log_level, config.server.log_stream)
    return create_app(config)


def _providers(args: argparse.Namespace) -> int:
    from .gateway import Gateway

    plugins = create_plugins()
    gateway = Gateway(_load(args.config), plugins)
    print("plugins (entry-point group gateway_provider):")
    for kind in sorted(plugins.kinds):
        info = gateway.infos[kind]
        print(f"  {kind:<12} {info.description}")
    for kind, error in sorted(plugins.failures.items()):
        print(f"  {kind:<12} FAILED TO IMPORT: {error}")
    print("configured instances:")
    for name, instance in sorted(gateway.instances.items()):
        key = "key set" if instance.settings.api_key else "no key"
        base = mask_url(instance.settings.base_url) if instance.settings.base_url else "default URL"
        print(f"  {name:<12} type={instance.kind:<10} {key:<8} {base}")
    return 0


def _check_config(args: argparse.Namespace) -> int:
    from .gateway import Gateway

    config = _load(args.config)
    gateway = Gateway(config, create_plugins())
    print(f"{config.source}: OK ({len(gateway.instances)} provider instances, {len(config.aliases)} aliases)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gateway`` command."""
    parser = argparse.ArgumentParser(prog="gateway", description="Open Responses gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--config", help="YAML config file (default: $GATEWAY_CONFIG, else built-in defaults)")
    serve.add_argument("--host", help="listen address (default: server.host, 127.0.0.1)")
    serve.add_argument("--port", type=int)
    serve.add_argument("--log-stream", choices=("stderr", "stdout"), help="where log lines go (default stderr)")
    serve.add_argument("--workers", type=_workers_argument, help="worker processes: a number, or auto (one per core)")
    serve.set_defaults(run=_serve)
    providers = commands.add_parser("providers", help="list discovered plugins and configured instances")
    providers.add_argument("--config")
    providers.set_defaults(run=_providers)
    check = commands.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("--config", required=False)
    check.set_defaults(run=_check_config)
    from .auth.commands import add_commands

    add_commands(commands, _load)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (ConfigError, PluginError) as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
