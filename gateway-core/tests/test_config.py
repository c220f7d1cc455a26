"""Configuration: environment substitution, defaults, and errors that name the file, the key and the problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway_core.config import ConfigError, load_config, parse_config, substitute_env
from gateway_core.gateway import Gateway
from gateway_core.plugins import create_plugins

from .mock_based import mock_plugin


def test_env_substitution_with_defaults() -> None:
    env = {"KEY": "sk-1", "EMPTY": ""}
    assert substitute_env("${KEY} ${MISSING:-dflt} ${EMPTY:-fallback} ${MISSING}", env) == "sk-1 dflt fallback "


def test_full_config_parses() -> None:
    text = """
server: {host: 127.0.0.1, port: 9000, max_body_bytes: 2048}
providers:
  groq:
    type: mock
    api_key: ${GROQ_KEY:-none-set}
    base_url: https://api.groq.com/openai/v1
    timeout: 30
    headers: {x-team: blue}
    models: [llama-3.3-70b]
    options: {delay: 0}
aliases: {fast: groq/llama-3.3-70b}
prefixes: {"llama-": groq}
"""
    config = parse_config(text, "g.yaml", environ={})
    groq = config.providers["groq"]
    assert (groq.name, groq.type, groq.api_key, groq.timeout) == ("groq", "mock", "none-set", 30.0)
    assert config.server.port == 9000 and config.aliases["fast"] == "groq/llama-3.3-70b"
    assert "none-set" not in repr(groq), "settings never print the key"


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("server: {port: high}", "server.port", "Expected `int`"),
        ("providers: {x: {timeout: -1}}", "providers.x.timeout", "Expected `float` > 0"),
        ("providers: {x: {api_kee: 1}}", "providers.x", "unknown field `api_kee`"),
        ("bogus: 1", "?", "unknown field `bogus`"),
        ("aliases: {fast: ''}", "aliases.fast", "must name a model"),
    ],
)
def test_bad_config_names_file_key_and_problem(text: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "bad.yaml", environ={})
    message = str(info.value)
    assert message.startswith("bad.yaml:") and problem in message
    if key != "?":
        assert f"'{key}'" in message


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_config("a: [1,", "x.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_unknown_plugin_type_is_a_config_error() -> None:
    config = parse_config("providers: {acme: {type: acme}}", "g.yaml", environ={})
    with pytest.raises(ConfigError, match=r"g.yaml: key 'providers.acme.type': no plugin of type 'acme'"):
        Gateway(config, create_plugins(autoload=False))


def test_default_instances_come_from_the_environment() -> None:
    plugins = create_plugins(autoload=False)
    gateway = Gateway(parse_config("", "g.yaml", environ={}), plugins, environ={})
    assert set(gateway.instances) == {"mock"}


def test_check_config_command(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("aliases: {fast: mock/m}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("server: {port: nope}\n")
    run = [sys.executable, "-m", "gateway_core.cli", "check-config", "--config"]
    ok = subprocess.run([*run, str(good)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "OK" in ok.stdout
    failed = subprocess.run([*run, str(bad)], capture_output=True, text=True, check=False)
    assert failed.returncode == 2
    assert str(bad) in failed.stderr and "'server.port'" in failed.stderr and "Traceback" not in failed.stderr


def test_example_config_is_valid() -> None:
    example = Path(__file__).parents[2] / "config" / "gateway.example.yaml"
    config = load_config(example)
    assert config.providers and config.aliases


def test_example_config_documents_every_server_key() -> None:
    from gateway_core.config import ServerSettings

    text = (Path(__file__).parents[2] / "config" / "gateway.example.yaml").read_text()
    server = text[text.index("server:"):text.index("# Provider instances")]
    assert [key for key in ServerSettings.__struct_fields__ if f" {key}:" not in server] == []


def test_environment_key_never_goes_to_another_host() -> None:
    from gateway_core import ProviderInfo, hookimpl

    @hookimpl
    def gateway_provider_info() -> ProviderInfo:
        return ProviderInfo(api_key_env=("ACME_KEY",))

    text = """
providers:
  acme: {base_url: https://proxy.example/v1}
  local: {type: acme, base_url: http://127.0.0.1:11434/v1}
  second: {type: acme}
"""
    plugins = create_plugins(autoload=False, extra={"acme": mock_plugin(gateway_provider_info=gateway_provider_info)})
    gateway = Gateway(parse_config(text, "g.yaml", environ={}), plugins, environ={"ACME_KEY": "k-123"})
    keys = {name: instance.settings.api_key for name, instance in gateway.instances.items()}
    # no implicit mock: a config that names providers serves those (and keyed kinds from the environment)
    assert keys == {"acme": "k-123", "local": None, "second": "k-123"}
