"""The core's conformance suite against the fake Gemini API."""

from typing import Any

import pytest

from gateway_core.testing import ProviderConformance
from gateway_core.testing.chat_conformance import ChatCompletionsConformance
from gateway_core.testing.messages_conformance import MessagesConformance

from .fake_upstream import create_app


class TestConformance(ChatCompletionsConformance, MessagesConformance, ProviderConformance):
    model = "gemini-2.5-flash"

    @pytest.fixture(scope="class")
    @classmethod
    def upstream_app(cls) -> Any:
        return create_app()

    @pytest.fixture(scope="class")
    @classmethod
    def gateway_config(cls, upstream_url: str) -> dict[str, Any]:
        return {"providers": {"google": {"type": "google", "api_key": cls.api_key, "base_url": upstream_url}}}
