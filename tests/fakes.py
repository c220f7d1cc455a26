"""The fake upstream each provider package ships, by package name, for the end-to-end tests."""

from __future__ import annotations

import importlib
from types import ModuleType


def fake_upstream(package: str) -> ModuleType:
    """A provider package's fake upstream module (``gateway_<package>.testing.fake_upstream``)."""
    return importlib.import_module(f"gateway_{package}.testing.fake_upstream")
