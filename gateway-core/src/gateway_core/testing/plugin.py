"""pytest plugin of gateway-core (entry point ``pytest11``): fixtures for testing the gateway and plugins.

Imports of the kit happen inside the fixtures, so installing gateway-core without the ``testing`` extra
never breaks an unrelated pytest run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest


@pytest.fixture(scope="session")
def openresponses() -> Any:
    """The Open Responses validator (compiled once per session)."""
    from .validator import default_validator

    return default_validator()


@pytest.fixture
def start_gateway() -> Iterator[Callable[[dict[str, Any] | None], str]]:
    """Factory: ``start_gateway(config_dict)`` runs a gateway for this test and returns its base URL."""
    from .servers import run_gateway

    with ExitStack() as stack:

        def start(config: dict[str, Any] | None = None) -> str:
            return stack.enter_context(run_gateway(config))

        yield start


@pytest.fixture(scope="session")
def gateway_url() -> Iterator[str]:
    """A gateway with the default configuration (the keyless ``mock`` provider), for the session."""
    from .servers import run_gateway

    with run_gateway({}) as url:
        yield url
