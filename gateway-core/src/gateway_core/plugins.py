"""The plugin manager: the contract's hook specifications, the built-in mock provider, and entry-point discovery.

Provider packages register in the ``gateway_provider`` entry-point group; the entry name is the provider
kind. ``GATEWAY_DISABLE_PLUGIN_AUTOLOAD=1`` turns discovery off and ``GATEWAY_PLUGINS=a,b`` loads only the
named kinds (built-ins always load). A plugin that fails to import is recorded with its error and only stops
startup if the configuration uses it.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType

import pluggy

from .contract import hookspecs
from .contract.hookspecs import ENTRY_POINT_GROUP, PROJECT

BUILTIN_PLUGINS = {"mock": "gateway_core.mock"}
REQUIRED_HOOKS = ("gateway_create_client", "gateway_translate", "gateway_invoke", "gateway_stream", "gateway_map_error")

logger = logging.getLogger("gateway.plugins")


class PluginError(Exception):
    """A plugin is unusable: a misspelt or missing hook implementation."""


@dataclass
class Plugins:
    """The loaded plugins: the pluggy manager, each kind's module, and the kinds that failed to import."""

    manager: pluggy.PluginManager
    kinds: dict[str, ModuleType | object] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def hookimpls(self, kind: str) -> dict[str, pluggy.HookImpl]:
        """The hook implementations of one kind, by hook name."""
        found: dict[str, pluggy.HookImpl] = {}
        for name in dir(self.manager.hook):
            if not name.startswith("gateway_"):
                continue
            for impl in getattr(self.manager.hook, name).get_hookimpls():
                if impl.plugin_name == kind:
                    found[name] = impl
        return found


def create_plugins(
    *, autoload: bool | None = None, only: set[str] | None = None, extra: dict[str, object] | None = None
) -> Plugins:
    """Build the plugin manager: specs first, then built-ins, entry points and ``extra`` plugins, then
    ``check_pending()`` so a misspelt hook implementation fails here, loudly."""
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(hookspecs)
    plugins = Plugins(manager)
    for kind, module_name in BUILTIN_PLUGINS.items():
        _register(plugins, kind, importlib.import_module(module_name))
    if autoload is None:
        autoload = os.environ.get("GATEWAY_DISABLE_PLUGIN_AUTOLOAD", "") in ("", "0", "false")
    if only is None and os.environ.get("GATEWAY_PLUGINS"):
        only = {name.strip() for name in os.environ["GATEWAY_PLUGINS"].split(",") if name.strip()}
    if autoload:
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            if entry.name in plugins.kinds or (only is not None and entry.name not in only):
                continue
            try:
                module = entry.load()
            except Exception as exc:  # a broken plugin must not take the others down
                plugins.failures[entry.name] = f"{type(exc).__name__}: {exc}"
                logger.error("provider plugin %r (%s) failed to import: %s", entry.name, entry.value, exc)
                continue
            _register(plugins, entry.name, module)
    for kind, plugin in (extra or {}).items():
        _register(plugins, kind, plugin)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"provider plugin {exc.plugin!r}: {exc}") from None
    return plugins


def _register(plugins: Plugins, kind: str, plugin: object) -> None:
    try:
        plugins.manager.register(plugin, name=kind)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"provider plugin {kind!r}: {exc}") from None
    plugins.kinds[kind] = plugin
    missing = [hook for hook in REQUIRED_HOOKS if hook not in plugins.hookimpls(kind)]
    if missing:
        plugins.manager.unregister(name=kind)
        del plugins.kinds[kind]
        raise PluginError(f"provider plugin {kind!r} does not implement {', '.join(missing)}")
