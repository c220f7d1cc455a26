"""``gateway providers`` masks a ``base_url``'s credentials; a debug-level gateway never logs a client's
credential headers (the WebSocket upgrade is logged header by header by websockets at debug level)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import websockets.sync.client as ws_client

from gateway_core.testing.servers import run_gateway_process

CLIENT_SECRET = "client-bearer-secret-31415926"


def test_providers_command_masks_base_url_credentials(tmp_path: Path) -> None:
    config = tmp_path / "g.yaml"
    config.write_text("providers:\n  local:\n    type: openai\n    base_url: https://bob:hunter2pass@llm.internal/v1\n")
    result = subprocess.run([sys.executable, "-m", "gateway_core", "providers", "--config", str(config)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "hunter2pass" not in result.stdout and "bob" not in result.stdout
    assert "https://***@llm.internal/v1" in result.stdout


def test_debug_logging_never_prints_credential_headers() -> None:
    with run_gateway_process("server: {log_level: debug}\n") as gateway:
        url = gateway.url.replace("http", "ws", 1) + "/v1/responses"
        headers = {"Authorization": f"Bearer {CLIENT_SECRET}", "X-Api-Key": CLIENT_SECRET,
                   "Cookie": f"session={CLIENT_SECRET}"}
        with ws_client.connect(url, additional_headers=headers) as socket:
            socket.send(json.dumps({"type": "response.create", "model": "mock", "input": "hi"}))
            while json.loads(socket.recv(timeout=20))["type"] != "response.completed":
                pass
        output = gateway.stop()
    assert "GET /v1/responses" in output  # debug logging of the upgrade is on
    assert CLIENT_SECRET not in output
