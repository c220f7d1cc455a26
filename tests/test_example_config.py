"""The documented example configuration is valid with every provider plugin installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[1] / "config" / "gateway.example.yaml"


def test_example_config_checks_out() -> None:
    result = subprocess.run([sys.executable, "-m", "gateway_core", "check-config", "--config", str(EXAMPLE)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "5 provider instances" in result.stdout and "6 aliases" in result.stdout


@pytest.mark.parametrize(("instance", "key", "problem"), [
    ("groq: {type: openai, options: {mode: telepathy}}", "providers.groq.options.mode", "telepathy"),
    ("claude: {type: anthropic, options: {default_max_tokens: lots}}", "providers.claude.options.default_max_tokens",
     "Expected `int`, got `str`"),
    ("claude: {type: anthropic, options: {default_max_tokens: 0}}", "providers.claude.options.default_max_tokens",
     "Expected `int` >= 1"),
    ("gem: {type: google, options: {vertex: true}}", "providers.gem.options", "unknown field `vertex`"),
    ("gem: {type: google, options: {vertexai: maybe}}", "providers.gem.options.vertexai", "Expected `bool`"),
])
def test_a_bad_plugin_option_is_a_config_error_naming_the_key(tmp_path: Path, instance: str, key: str,
                                                              problem: str) -> None:
    """Each plugin's typed options are converted at startup: a bad value stops check-config (exit 2) with
    the file and the exact key, instead of failing every request later."""
    config = tmp_path / "bad.yaml"
    config.write_text(f"providers: {{{instance}}}\n")
    result = subprocess.run([sys.executable, "-m", "gateway_core", "check-config", "--config", str(config)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert f"{config}: key '{key}': " in result.stderr and problem in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
