"""Routing: provider pin, provider/model, aliases, prefix rules, inference, and helpful not-found errors."""

from __future__ import annotations

import pytest

from gateway_core import NotFoundError
from gateway_core.config import parse_config
from gateway_core.gateway import Gateway
from gateway_core.plugins import create_plugins

from .mock_based import mock_plugin

CONFIG = """
providers:
  mock: {}
  echo2: {type: mock}
aliases:
  fast: echo2/small
  chained: fast
prefixes:
  "llama-": echo2
"""


@pytest.fixture(scope="module")
def router():  # type: ignore[no-untyped-def]
    return Gateway(parse_config(CONFIG, "r.yaml", environ={}), create_plugins(autoload=False), environ={}).router


@pytest.mark.parametrize(
    ("model", "provider", "instance", "upstream"),
    [
        ("mock-1", None, "mock", "mock-1"),
        ("echo2/big", None, "echo2", "big"),
        ("mock/echo2", None, "mock", "echo2"),
        ("fast", None, "echo2", "small"),
        ("chained", None, "echo2", "small"),
        ("llama-3-8b", None, "echo2", "llama-3-8b"),
        ("anything", "echo2", "echo2", "anything"),
        ("echo2/x", "echo2", "echo2", "x"),
    ],
)
def test_resolution(router, model: str, provider: str | None, instance: str, upstream: str) -> None:  # type: ignore[no-untyped-def]
    bound, name = router.resolve(model, provider)
    assert (bound.name, name) == (instance, upstream)


@pytest.mark.parametrize(
    ("model", "fragment"),
    [
        ("gpt-4o", "pip install gateway-openai"),
        ("o3-mini", "'openai'"),
        ("gemini-2.5-flash", "'google'"),
        ("claude-opus-4", "'anthropic'"),
        ("openai/gpt-4o", "'openai'"),
        ("mystery", "GET /v1/models lists the models served"),
    ],
)
def test_not_found_messages_say_how_to_fix(router, model: str, fragment: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError) as info:
        router.resolve(model)
    assert info.value.code == "model_not_found" and fragment in info.value.message


def test_unknown_model_message_names_no_instance(router) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError) as info:
        router.resolve("mystery")
    assert "echo2" not in info.value.message and "mock" not in info.value.message


def test_unconfigured_kind_with_known_key_env_names_the_variable() -> None:
    from gateway_core import ProviderInfo, hookimpl

    @hookimpl
    def gateway_provider_info() -> ProviderInfo:
        return ProviderInfo(api_key_env=("ACME_KEY",), model_prefixes=("acme-",))

    def plugins():  # type: ignore[no-untyped-def]
        return create_plugins(autoload=False, extra={"acme": mock_plugin(gateway_provider_info=gateway_provider_info)})

    gateway = Gateway(parse_config("", "r.yaml", environ={}), plugins(), environ={})
    with pytest.raises(NotFoundError, match="set ACME_KEY"):
        gateway.router.resolve("acme-1")
    with_key = Gateway(parse_config("", "r.yaml", environ={}), plugins(), environ={"ACME_KEY": "k"})
    assert with_key.router.resolve("acme-1")[0].name == "acme"


def test_client_chosen_names_keep_the_state_tables_bounded() -> None:
    from gateway_core.dispatch import _RECENT_LIMIT, Dispatcher
    from gateway_core.routing import _CACHE_LIMIT, STATE_KEY_LIMIT

    config = parse_config(
        CONFIG.replace("aliases:\n", "aliases:\n  group: {targets: [{model: mock/a}, {model: echo2/b}]}\n"),
        "r.yaml", environ={})
    router = Gateway(config, create_plugins(autoload=False), environ={}).router
    dispatcher = Dispatcher(config.routing, router.configured_targets())
    assert dispatcher.tracked() == 2
    for number in range(_RECENT_LIMIT + 500):
        target = router.route(f"mock-{number}-" + "x" * 1000).targets[0]
        assert len(target.state_key) <= STATE_KEY_LIMIT
        dispatcher.state(target)
    assert dispatcher.tracked() == 2 + _RECENT_LIMIT
    assert len(router._cache) < _CACHE_LIMIT and not any(len(model) > 256 for model, _ in router._cache)
    assert all(dispatcher.state(target) is dispatcher.health[target.state_key]
               for target in router.route("group").targets)
