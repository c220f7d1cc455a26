"""The documented example configuration is valid with every provider plugin installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "config" / "gateway.example.yaml"


def test_example_config_checks_out() -> None:
    result = subprocess.run([sys.executable, "-m", "gateway_core", "check-config", "--config", str(EXAMPLE)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "5 provider instances" in result.stdout and "6 aliases" in result.stdout


def test_a_plugin_rejecting_its_options_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("providers: {groq: {type: openai, options: {mode: telepathy}}}\n")
    result = subprocess.run([sys.executable, "-m", "gateway_core", "check-config", "--config", str(config)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "key 'providers.groq.options'" in result.stderr and "telepathy" in result.stderr
    assert "Traceback" not in result.stderr
