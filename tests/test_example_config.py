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
