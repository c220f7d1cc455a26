"""Model name -> (provider instance, upstream model): ``provider`` field, ``provider/model``, aliases, prefixes.

Resolution order: an explicit ``"provider"`` in the body; an alias from the config; ``instance/model`` (or
``kind/model``); configured prefix rules; each provider kind's own prefixes (``gpt-``, ``o1``, ``o3``,
``o4``, ``chatgpt-`` -> openai, ``claude-`` -> anthropic, ``gemini-`` -> google, ``mock`` -> mock). Results
are cached: the table does not change after startup.
"""

from __future__ import annotations

from .errors import NotFoundError
from .provider import BoundProvider

WELL_KNOWN_PREFIXES: dict[str, tuple[str, ...]] = {
    "openai": ("gpt-", "o1", "o3", "o4", "chatgpt-"),
    "anthropic": ("claude-",),
    "google": ("gemini-",),
    "mock": ("mock",),
}
"""Prefixes each well-known kind serves, so a missing plugin gets a helpful message."""

PACKAGES = {"openai": "gateway-openai", "anthropic": "gateway-anthropic", "google": "gateway-google"}
_CACHE_LIMIT = 4096


class Router:
    """Resolves a request's model (and optional ``provider``) to a bound instance and upstream model."""

    def __init__(
        self,
        instances: dict[str, BoundProvider],
        *,
        aliases: dict[str, str],
        prefixes: dict[str, str],
        kind_prefixes: dict[str, tuple[str, ...]],
        unconfigured_hint: dict[str, str],
    ) -> None:
        self.instances = instances
        self.aliases = aliases
        self._by_kind: dict[str, BoundProvider] = {}
        for instance in instances.values():
            if instance.kind == instance.name or instance.kind not in self._by_kind:
                self._by_kind[instance.kind] = instance
        rules: list[tuple[str, str]] = list(prefixes.items())
        for kind, kind_rules in {**WELL_KNOWN_PREFIXES, **kind_prefixes}.items():
            rules.extend((prefix, kind) for prefix in kind_rules)
        # longest prefix first; configured rules win ties because they come first and sort is stable
        self._prefixes = sorted(rules, key=lambda rule: -len(rule[0]))
        self._hint = unconfigured_hint
        self._cache: dict[tuple[str, str | None], tuple[BoundProvider, str]] = {}

    def instance(self, name: str) -> BoundProvider | None:
        """The instance called ``name``, else the main instance of the kind ``name``."""
        return self.instances.get(name) or self._by_kind.get(name)

    def resolve(self, model: str, provider: str | None = None) -> tuple[BoundProvider, str]:
        """The instance and upstream model for a request. Raises ``NotFoundError`` (``model_not_found``)."""
        key = (model, provider)
        found = self._cache.get(key)
        if found is None:
            found = self._resolve(model, provider, depth=0)
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[key] = found
        return found

    def _resolve(self, model: str, provider: str | None, depth: int) -> tuple[BoundProvider, str]:
        if provider is not None:
            instance = self.instance(provider)
            if instance is None:
                raise self._not_configured(provider, model, param="provider")
            prefix = provider + "/"
            return instance, model[len(prefix):] if model.startswith(prefix) else model
        alias = self.aliases.get(model)
        if alias is not None and depth < 4:
            return self._resolve(alias, None, depth + 1)
        head, slash, tail = model.partition("/")
        if slash and tail:
            instance = self.instance(head)
            if instance is not None:
                return instance, tail
            if head in self._hint or head in WELL_KNOWN_PREFIXES:
                raise self._not_configured(head, model)
        for prefix, target in self._prefixes:
            if model.startswith(prefix):
                instance = self.instance(target)
                if instance is None:
                    raise self._not_configured(target, model)
                return instance, model
        configured = ", ".join(sorted(self.instances)) or "none"
        raise NotFoundError(
            f"unknown model '{model}': no alias, provider prefix or model-name rule matches it. "
            f"Write it as 'provider/model' (configured providers: {configured}), set \"provider\" in the "
            "request, or add an alias or prefix rule to the config",
            code="model_not_found",
            param="model",
        )

    def _not_configured(self, name: str, model: str, param: str = "model") -> NotFoundError:
        hint = self._hint.get(name)
        if hint is None:
            package = PACKAGES.get(name)
            hint = (
                f"install the plugin ({'pip install ' + package if package else 'a gateway_provider plugin'}) "
                f"and add providers.{name} to the config"
            )
        return NotFoundError(
            f"model '{model}' needs provider '{name}', which is not configured: {hint}",
            code="model_not_found",
            param=param,
        )
