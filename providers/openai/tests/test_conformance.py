"""The core's conformance suite against the fake OpenAI server, once per upstream mode."""

from __future__ import annotations

from typing import Any

import pytest

from gateway_core.testing import ProviderConformance
from gateway_core.testing.chat_conformance import ChatCompletionsConformance
from gateway_core.testing.messages_conformance import MessagesConformance

from .fake_upstream import create_app


class _OpenAIConformance(ChatCompletionsConformance, MessagesConformance, ProviderConformance):
    """The fake server, and the ``openai`` instance in ``mode``."""

    model = "gpt-4o-mini"
    mode = "responses"

    @pytest.fixture(scope="class")
    @classmethod
    def upstream_app(cls) -> Any:
        return create_app()

    @pytest.fixture(scope="class")
    @classmethod
    def gateway_config(cls, upstream_url: str) -> dict[str, Any]:
        return {"providers": {"openai": {"type": "openai", "api_key": cls.api_key, "base_url": upstream_url + "/v1",
                                         "options": {"mode": cls.mode}}}}


class TestResponsesMode(_OpenAIConformance):
    """``options.mode: responses`` (the default)."""


class TestChatCompletionsMode(_OpenAIConformance):
    """``options.mode: chat_completions`` (an OpenAI-compatible server)."""

    mode = "chat_completions"
