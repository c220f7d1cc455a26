"""The core's conformance suite against the fake OpenAI server, once per upstream mode."""

from __future__ import annotations

from typing import Any

import pytest

from gateway_core.testing import ProviderConformance

from .fake_upstream import create_app


class TestResponsesMode(ProviderConformance):
    """``options.mode: responses`` (the default)."""

    model = "gpt-4o-mini"

    @pytest.fixture(scope="class")
    @classmethod
    def upstream_app(cls) -> Any:
        return create_app()

    @pytest.fixture(scope="class")
    @classmethod
    def gateway_config(cls, upstream_url: str) -> dict[str, Any]:
        return {"providers": {"openai": {"type": "openai", "api_key": cls.api_key, "base_url": upstream_url + "/v1"}}}


class TestChatCompletionsMode(ProviderConformance):
    """``options.mode: chat_completions`` (an OpenAI-compatible server)."""

    model = "gpt-4o-mini"

    @pytest.fixture(scope="class")
    @classmethod
    def upstream_app(cls) -> Any:
        return create_app()

    @pytest.fixture(scope="class")
    @classmethod
    def gateway_config(cls, upstream_url: str) -> dict[str, Any]:
        return {"providers": {"openai": {"type": "openai", "api_key": cls.api_key, "base_url": upstream_url + "/v1",
                                         "options": {"mode": "chat_completions"}}}}
