"""The built-in mock provider passes the same conformance suites (Open Responses and every dialect) as every
provider plugin."""

from collections.abc import Iterator
from typing import Any

import pytest

from gateway_core.testing import ProviderConformance
from gateway_core.testing.chat_conformance import ChatCompletionsConformance
from gateway_core.testing.messages_conformance import MessagesConformance


class TestMockConformance(ChatCompletionsConformance, MessagesConformance, ProviderConformance):
    model = "mock-large"

    @pytest.fixture(scope="class")
    @classmethod
    def upstream_url(cls) -> Iterator[str]:
        yield ""  # the mock answers in-process

    @pytest.fixture(scope="class")
    @classmethod
    def gateway_config(cls, upstream_url: str) -> dict[str, Any]:
        return {"providers": {"mock": {"api_key": cls.api_key}}}
