"""The gateway at run time: plugins + config -> bound provider instances and a router, built once at startup."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from .config import ConfigError, GatewayConfig, ProviderSettings, convert_options
from .plugins import Plugins, create_plugins
from .provider import BoundProvider, Capabilities, ProviderInfo, bind
from .routing import PACKAGES, Router

logger = logging.getLogger("gateway")


class Gateway:
    """Everything the request path needs, resolved at startup."""

    def __init__(self, config: GatewayConfig, plugins: Plugins, environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.plugins = plugins
        environ = os.environ if environ is None else environ
        self.infos = {kind: _info(plugins, kind) for kind in plugins.kinds}
        settings = _instance_settings(config, plugins, self.infos, environ)
        self.instances = {name: self._bind(plugins, item, config.source) for name, item in settings.items()}
        hints = {
            kind: (
                f"set {' or '.join(info.api_key_env)} or add providers.{kind} to the config"
                if info.api_key_env
                else f"add providers.{kind} to the config"
            )
            for kind, info in self.infos.items()
        }
        for kind, error in plugins.failures.items():
            hints[kind] = f"its plugin failed to import ({error}); reinstall {PACKAGES.get(kind, 'the plugin')}"
        self.router = Router(
            self.instances,
            aliases=dict(config.aliases),
            prefixes=dict(config.prefixes),
            kind_prefixes={kind: info.model_prefixes for kind, info in self.infos.items()},
            unconfigured_hint=hints,
            routing=config.routing,
            source=config.source,
        )

    def _bind(self, plugins: Plugins, settings: ProviderSettings, source: str) -> BoundProvider:
        """One instance: its options converted to the kind's Struct, its capabilities, its hooks."""
        info = self.infos[settings.type]
        options = convert_options(info.options, settings, source)
        capabilities = _capabilities(plugins, settings, options, source)
        return BoundProvider(settings, plugins.hookimpls(settings.type), info, capabilities, options)

    @classmethod
    def from_config(cls, config: GatewayConfig, plugins: Plugins | None = None) -> Gateway:
        """Build from a config, discovering plugins unless given."""
        return cls(config, plugins if plugins is not None else create_plugins())

    def start(self) -> None:
        """Create every instance's SDK client (inside the running event loop)."""
        for instance in self.instances.values():
            instance.start()

    async def close(self) -> None:
        """Close every client."""
        for instance in self.instances.values():
            try:
                await instance.close()
            except Exception:  # shutdown continues for the other instances
                logger.exception("closing provider %r failed", instance.name)


def _info(plugins: Plugins, kind: str) -> ProviderInfo:
    call = bind(plugins.hookimpls(kind).get("gateway_provider_info"), {}, ())
    return call() if call else ProviderInfo()


def _capabilities(plugins: Plugins, settings: ProviderSettings, options: Any, source: str) -> Capabilities:
    """The instance's capabilities; a plugin that rejects its settings here (``ValueError``) makes a config
    error that names the instance, before the server starts."""
    fixed = {"settings": settings, "options": options}
    call = bind(plugins.hookimpls(settings.type).get("gateway_capabilities"), fixed, ())
    try:
        return call() if call else Capabilities()
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{source}: key 'providers.{settings.name}.options': {exc}") from None


def _first_env(names: tuple[str, ...], environ: Mapping[str, str]) -> str | None:
    return next((environ[name] for name in names if environ.get(name)), None)


def _instance_settings(
    config: GatewayConfig, plugins: Plugins, infos: dict[str, ProviderInfo], environ: Mapping[str, str]
) -> dict[str, ProviderSettings]:
    """Configured instances (checked against the installed plugins), plus a default instance for each
    installed kind whose API key is in the environment. Keyless kinds (the built-in ``mock``) get a default
    instance only when the config defines no providers at all: a configured gateway serves what it names."""
    result: dict[str, ProviderSettings] = {}
    for name, settings in config.providers.items():
        kind = settings.type
        if kind not in plugins.kinds:
            if kind in plugins.failures:
                problem = f"its plugin failed to import: {plugins.failures[kind]}"
            else:
                package = PACKAGES.get(kind, f"a package registering '{kind}' in the gateway_provider entry points")
                problem = f"no plugin of type '{kind}' is installed (pip install {package})"
            raise ConfigError(f"{config.source}: key 'providers.{name}.type': {problem}")
        if settings.api_key is None and (settings.base_url is None or name == kind):
            # the kind's key (OPENAI_API_KEY...) only goes to the kind's own service, never to another
            # base_url (an OpenAI-compatible server configured without a key stays keyless)
            settings.api_key = _first_env(infos[kind].api_key_env, environ)
        result[name] = settings
    for kind, info in infos.items():
        if kind in result or any(item.type == kind for item in result.values()):
            continue
        key = _first_env(info.api_key_env, environ)
        if key is not None or (not info.api_key_env and not config.providers):
            result[kind] = ProviderSettings(name=kind, type=kind, api_key=key)
    return result
