"""Model name -> (provider instance, upstream model): ``provider`` field, ``provider/model``, aliases, prefixes.

Resolution order: an explicit ``"provider"`` in the body; an alias from the config; ``instance/model`` (or
``kind/model``); configured prefix rules; each provider kind's own prefixes (``gpt-``, ``o1``, ``o3``,
``o4``, ``chatgpt-`` -> openai, ``claude-`` -> anthropic, ``gemini-`` -> google, ``mock`` -> mock). Results
are cached: the table does not change after startup. The cache is bounded (``_CACHE_LIMIT`` routes, and only
model names up to ``_CACHEABLE_NAME`` characters), so client-chosen names never grow it without limit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .config import ConfigError, ModelGroup, Price, RoutingSettings
from .errors import GatewayError, NotFoundError
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
_CACHEABLE_NAME = 256
STATE_KEY_LIMIT = 256
"""Longer target keys are kept in state tables as a digest, so a long client-chosen name costs no memory there."""


@dataclass(eq=False)
class Target:
    """One place a request can go: an instance, the upstream model, and its reliability knobs."""

    instance: BoundProvider
    model: str
    timeout: float
    first_byte_timeout: float
    max_retries: int
    weight: float = 1.0
    price: Price | None = None
    unit_cost: float | None = None
    """USD of 1,000 input + 1,000 output tokens, from ``price`` or the price table (set at startup, for the
    ``cheapest`` policy); None when unknown."""
    key: str = field(init=False)
    state_key: str = field(init=False)
    """``key``, or for a long one a fixed-size digest of it: what per-target state tables are keyed by."""

    def __post_init__(self) -> None:
        self.key = f"{self.instance.name}/{self.model}"
        self.state_key = self.key if len(self.key) <= STATE_KEY_LIMIT else (
            f"{self.instance.name}/#{hashlib.blake2b(self.key.encode(), digest_size=16).hexdigest()}")


@dataclass(eq=False)
class Route:
    """The targets a request may use, and the policy that orders them per request."""

    targets: list[Target]
    policy: str = "fallback"
    sticky: str | None = None


class Router:
    """Resolves a request's model (and optional ``provider``) to a :class:`Route`."""

    def __init__(
        self,
        instances: dict[str, BoundProvider],
        *,
        aliases: dict[str, str | ModelGroup],
        prefixes: dict[str, str],
        kind_prefixes: dict[str, tuple[str, ...]],
        unconfigured_hint: dict[str, str],
        routing: RoutingSettings | None = None,
        source: str = "<config>",
    ) -> None:
        self.instances = instances
        self.settings = routing or RoutingSettings()
        self.aliases = {name: target for name, target in aliases.items() if isinstance(target, str)}
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
        self._cache: dict[tuple[str, str | None], Route] = {}
        self._groups: dict[str, Route] = {}
        for name, group in aliases.items():
            if isinstance(group, ModelGroup):
                self._groups[name] = self._group_route(name, group, source)

    def instance(self, name: str) -> BoundProvider | None:
        """The instance called ``name``, else the main instance of the kind ``name``."""
        return self.instances.get(name) or self._by_kind.get(name)

    def route(self, model: str, provider: str | None = None) -> Route:
        """The route of a request. Raises ``NotFoundError`` (``model_not_found``)."""
        key = (model, provider)
        found = self._cache.get(key)
        if found is None:
            group = self._groups.get(model) if provider is None else None
            if group is None:
                group = self._groups.get(self.aliases.get(model, "")) if provider is None else None
            found = group or Route([self._target(*self._resolve(model, provider, depth=0))])
            if len(self._cache) < _CACHE_LIMIT and len(model) <= _CACHEABLE_NAME and len(provider or "") <= 64:
                self._cache[key] = found
        return found

    def configured_targets(self) -> list[Target]:
        """The targets of the configured model groups (known at startup; the rest are made per request)."""
        return [target for route in self._groups.values() for target in route.targets]

    def resolve(self, model: str, provider: str | None = None) -> tuple[BoundProvider, str]:
        """The first target's instance and upstream model (what a single-target route resolves to)."""
        target = self.route(model, provider).targets[0]
        return target.instance, target.model

    def _target(self, instance: BoundProvider, model: str) -> Target:
        settings = self.settings
        return Target(instance, model, settings.timeout, settings.first_byte_timeout, settings.max_retries)

    def _group_route(self, name: str, group: ModelGroup, source: str) -> Route:
        targets = []
        for index, item in enumerate(group.targets):
            try:
                instance, model = self._resolve(item.model, None, depth=0)
            except GatewayError as error:
                raise ConfigError(f"{source}: key 'aliases.{name}.targets[{index}].model': {error.message}") from None
            target = self._target(instance, model)
            target.weight, target.price = item.weight, item.price
            if item.timeout is not None:
                target.timeout = item.timeout
            if item.first_byte_timeout is not None:
                target.first_byte_timeout = item.first_byte_timeout
            if item.max_retries is not None:
                target.max_retries = item.max_retries
            targets.append(target)
        return Route(targets, group.policy, group.sticky)

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
        raise NotFoundError(  # no instance names: they may be private (GET /v1/models lists what is served)
            f"unknown model '{model}': no alias, provider prefix or model-name rule matches it. "
            "Write it as 'provider/model' (GET /v1/models lists the models served), set \"provider\" in the "
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
