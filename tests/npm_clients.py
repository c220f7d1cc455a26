"""The Node clients the end-to-end tests drive (the AI SDK, Claude Code, Codex CLI): each is installed with
``npm ci`` from the package-lock.json of its folder under tests/, on first use."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

_UNREACHABLE = (b"ENOTFOUND", b"EAI_AGAIN", b"ETIMEDOUT", b"ECONNREFUSED", b"ECONNRESET")


def npm_ci(folder: Path, installed: Path) -> str:
    """Install ``folder``'s locked packages with ``npm ci`` unless ``installed`` (a path the install creates)
    exists; returns the ``node`` command. Skips the test when node or npm is missing or the npm registry
    cannot be reached; any other failure of ``npm ci`` fails it."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed (Debian: apt-get install -y nodejs npm)")
    if not installed.exists():
        try:
            subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder, check=True,
                           capture_output=True, timeout=600)
        except subprocess.CalledProcessError as exc:
            if any(code in exc.stderr for code in _UNREACHABLE):
                pytest.skip(f"the npm registry is unreachable: {exc.stderr.decode(errors='replace')[-300:]}")
            raise
    return node
