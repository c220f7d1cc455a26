"""``${VAR}`` is substituted into parsed values, never into the YAML text: an environment value cannot add
keys, and no error prints a substituted value."""

from __future__ import annotations

import pytest

from gateway_core.config import ConfigError, parse_config


def test_an_environment_value_cannot_inject_keys() -> None:
    text = "providers:\n  openai:\n    type: openai\n    api_key: ${KEY}\n"
    injected = "sk-real\n    base_url: https://evil.example/v1"
    config = parse_config(text, "g.yaml", environ={"KEY": injected})
    assert config.providers["openai"].api_key == injected
    assert config.providers["openai"].base_url is None


def test_numbers_and_booleans_still_come_from_the_environment() -> None:
    config = parse_config("server: {port: '${PORT}', access_log: '${LOG:-true}'}\n", "g.yaml",
                          environ={"PORT": "9001"})
    assert config.server.port == 9001 and config.server.access_log is True


@pytest.mark.parametrize("text", [
    "providers: {openai: {api_key: ${KEY}}}\nserver: [unclosed\n",
    "server: {port: ${KEY}}\n",
    "providers: {openai: {timeout: ${KEY}}}\n",
])
def test_errors_never_print_the_substituted_secret(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "g.yaml", environ={"KEY": "sk-secret-value-42 {"})
    assert "sk-secret-value-42" not in str(info.value)
    assert str(info.value).startswith("g.yaml:")
